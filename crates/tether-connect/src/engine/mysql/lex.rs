//! MariaDB's lexer, as far as reading a stored trigger's or routine's body needs: its
//! blanks (VT and FF too) and comments, string literals, identifiers (backticks, `"..."`
//! under ANSI_QUOTES, `[...]` under MSSQL) and punctuation, read under the `sql_mode`
//! the object was created with, as the server reads the copy when it runs it.

/// The parts of a `sql_mode` that change how a body's text splits into tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Mode {
    /// `"..."` quotes an identifier (ANSI_QUOTES, or a combination mode holding it).
    pub ansi_quotes: bool,
    /// `[...]` quotes an identifier (MSSQL).
    pub brackets: bool,
    /// A backslash in a string is a plain character (NO_BACKSLASH_ESCAPES).
    pub no_backslash_escapes: bool,
}

impl Mode {
    /// The mode `SHOW CREATE TRIGGER/PROCEDURE/FUNCTION` gives (`sql_mode` column).
    pub fn of(sql_mode: Option<&str>) -> Mode {
        const WITH_ANSI_QUOTES: &[&str] = &["ANSI_QUOTES", "ANSI", "DB2", "MAXDB", "MSSQL", "ORACLE", "POSTGRESQL"];
        let flags: Vec<String> = sql_mode
            .unwrap_or("")
            .split(',')
            .map(|f| f.trim().to_ascii_uppercase())
            .collect();
        let has = |f: &str| flags.iter().any(|g| g == f);
        Mode {
            ansi_quotes: WITH_ANSI_QUOTES.iter().any(|f| has(f)),
            brackets: has("MSSQL"),
            no_backslash_escapes: has("NO_BACKSLASH_ESCAPES"),
        }
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// Spaces, tabs, line breaks, VT, FF.
    Blank,
    /// `/* ... */` (not `/*!` nor `/*M!`, which the server runs), `-- ...`, `# ...`.
    Comment,
    /// A string literal, quotes included.
    Str,
    /// An identifier, quoted (its name unquoted) or a bare word (keywords too).
    Ident { name: String, quoted: bool },
    /// A user or system variable (`@x`, `@@session.sql_mode`): its dots are its own.
    Variable,
    /// Any other character (`.`, `(`, `;`, ...).
    Punct(char),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: Kind,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn is_space(&self) -> bool {
        matches!(self.kind, Kind::Blank | Kind::Comment)
    }
}

/// MariaDB's blanks (`my_isspace`): space, `\t`, `\n`, VT, FF, `\r`.
pub(super) fn blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// `body` split into tokens under `mode`; `Err` naming what is left open (a string,
/// quoted name or comment without its end), which the server would not have stored.
pub(super) fn tokens(body: &str, mode: Mode) -> Result<Vec<Token>, String> {
    let b = body.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = if blank(c) {
            while i < b.len() && blank(b[i]) {
                i += 1;
            }
            Kind::Blank
        } else if c == b'#'
            || (c == b'-' && b.get(i + 1) == Some(&b'-') && b.get(i + 2).is_none_or(|&n| blank(n) || n < 0x20))
        {
            i = body[i..].find('\n').map_or(b.len(), |e| i + e);
            Kind::Comment
        } else if c == b'/'
            && b.get(i + 1) == Some(&b'*')
            && b.get(i + 2) != Some(&b'!')
            && !(b.get(i + 2) == Some(&b'M') && b.get(i + 3) == Some(&b'!'))
        {
            let Some(e) = body[i + 2..].find("*/") else {
                return Err(format!("a comment without its end: {}", &body[i..]));
            };
            i += 2 + e + 2;
            Kind::Comment
        } else if c == b'\'' || (c == b'"' && !mode.ansi_quotes) {
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(format!("a string without its end: {}", &body[start..])),
                    Some(&b'\\') if !mode.no_backslash_escapes => i += 2,
                    Some(&q) if q == c && b.get(i + 1) == Some(&c) => i += 2,
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            Kind::Str
        } else if c == b'`' || c == b'"' || (c == b'[' && mode.brackets) {
            let close = if c == b'[' { b']' } else { c };
            let mut name = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err(format!("a quoted name without its end: {}", &body[start..])),
                    Some(&q) if q == close && close != b']' && b.get(i + 1) == Some(&close) => {
                        name.push(close as char);
                        i += 2;
                    }
                    Some(&q) if q == close => {
                        i += 1;
                        break;
                    }
                    Some(_) => {
                        let ch = body[i..].chars().next().expect("in bounds");
                        name.push(ch);
                        i += ch.len_utf8();
                    }
                }
            }
            Kind::Ident { name, quoted: true }
        } else if c == b'@' {
            i += 1;
            if b.get(i) == Some(&b'@') {
                i += 1;
            }
            while i < b.len() && (word(b[i]) || b[i] == b'.') {
                i += 1;
            }
            Kind::Variable
        } else if word(c) {
            while i < b.len() && word(b[i]) {
                i += 1;
            }
            Kind::Ident {
                name: body[start..i].to_string(),
                quoted: false,
            }
        } else {
            let ch = body[i..].chars().next().expect("in bounds");
            i += ch.len_utf8();
            Kind::Punct(ch)
        };
        out.push(Token { kind, start, end: i });
    }
    Ok(out)
}

/// Whether a string literal's text names `database` followed by a dot (`db.t`,
/// `` `db`.t ``, `"db" . t`, `[db]/**/.t`): SQL built in a string, which may reach the
/// source when the copy runs it.
pub(super) fn string_names(text: &str, database: &str) -> bool {
    let b = text.as_bytes();
    text.match_indices(database).any(|(i, _)| {
        if i > 0 && word(b[i - 1]) {
            return false;
        }
        let mut j = i + database.len();
        if j < b.len() && matches!(b[j], b'`' | b'"' | b']') {
            j += 1;
        }
        loop {
            while j < b.len() && (blank(b[j]) || (b[j] == b'\\' && b.get(j + 1).is_some_and(|n| b"tnrvf".contains(n))))
            {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            if text[j..].starts_with("/*") {
                match text[j + 2..].find("*/") {
                    Some(e) => j += 2 + e + 2,
                    None => return true,
                }
            } else {
                break;
            }
        }
        b.get(j) == Some(&b'.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(body: &str, mode: Mode) -> Vec<Kind> {
        tokens(body, mode).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn modes_change_quotes_and_escapes() {
        let nbe = Mode::of(Some("NO_BACKSLASH_ESCAPES"));
        assert_eq!(kinds(r"'C:\' x", nbe)[0], Kind::Str);
        assert_eq!(kinds(r"'C:\' x", nbe).len(), 3);
        assert!(tokens(r"'C:\' x", Mode::default()).is_err());
        let ms = Mode::of(Some("PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE,MSSQL"));
        assert!(ms.brackets && ms.ansi_quotes);
        assert_eq!(
            kinds("[a b]", ms),
            [Kind::Ident {
                name: "a b".into(),
                quoted: true
            }]
        );
        assert_eq!(kinds("a\x0B/*c*/-- x\n", Mode::default())[1], Kind::Blank);
        assert_eq!(kinds("@@session.x", Mode::default()), [Kind::Variable]);
    }

    #[test]
    fn strings_naming_the_database() {
        assert!(string_names("INSERT INTO shop.t", "shop"));
        assert!(string_names("INSERT INTO [shop] . t", "shop"));
        assert!(string_names("INSERT INTO `shop`/**/.t", "shop"));
        assert!(!string_names("shop is here", "shop"));
        assert!(!string_names("myshop.t", "shop"));
    }
}
