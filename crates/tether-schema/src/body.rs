//! The tables a trigger's or routine's body names where SQL names tables: after
//! `FROM`, `JOIN`, `INTO`, `UPDATE`, `TABLE` (and the further names of a `FROM a, b`
//! list). A copy that leaves such a table out must not create the object: every
//! statement firing it would fail there ("no such table").
//!
//! A scan, not a parser: strings and comments are skipped, dollar-quoted bodies
//! (PostgreSQL) are read as code. It may also list a name that is no table (a CTE, a
//! variable after `SELECT .. INTO`); callers compare with the source's tables.

/// Words after which a table name follows.
const BEFORE_TABLE: [&str; 6] = ["from", "join", "into", "update", "table", "truncate"];

/// Words that follow those words without being a table (`BEFORE UPDATE ON t`, `DO
/// UPDATE SET`, `FROM ONLY t`, `DELETE FROM t` says `FROM` once).
const NOT_TABLE: [&str; 12] = [
    "on", "of", "or", "set", "only", "lateral", "select", "table", "if", "exists", "new", "old",
];

#[derive(Debug, PartialEq)]
enum Token {
    /// An identifier as written, unquoted or quoted (`"x"`, `` `x` ``, `[x]`).
    Word {
        text: String,
        quoted: bool,
    },
    Punct(char),
}

/// The names (qualifier parts, then the name) `body` writes after the words that
/// introduce a table. `backslash_escapes`: `\'` escapes a quote inside a string
/// (MariaDB/MySQL).
pub fn tables_named(body: &str, backslash_escapes: bool) -> Vec<Vec<String>> {
    let tokens = tokens(body, backslash_escapes);
    let mut out = Vec::new();
    let mut i = 0;
    let name_at = |mut j: usize| -> Option<(Vec<String>, usize)> {
        let mut parts = Vec::new();
        loop {
            match tokens.get(j) {
                Some(Token::Word { text, quoted }) => {
                    if parts.is_empty() && !quoted && NOT_TABLE.contains(&text.to_ascii_lowercase().as_str()) {
                        return None;
                    }
                    parts.push(text.clone());
                    j += 1;
                }
                _ => return None,
            }
            if tokens.get(j) == Some(&Token::Punct('.')) {
                j += 1;
                continue;
            }
            // A call (`FROM generate_series(..)`, `INSERT INTO t(..)` is a column list:
            // a table still).
            return Some((parts, j));
        }
    };
    while i < tokens.len() {
        let Token::Word { text, quoted: false } = &tokens[i] else {
            i += 1;
            continue;
        };
        let word = text.to_ascii_lowercase();
        i += 1;
        if !BEFORE_TABLE.contains(&word.as_str()) {
            continue;
        }
        let mut at = i;
        while let Some((parts, next)) = name_at(at) {
            out.push(parts);
            // `FROM a, b` and `FROM a x, b y`: the next name of the list.
            let mut j = next;
            if word != "from" {
                break;
            }
            if matches!(tokens.get(j), Some(Token::Word { text, quoted: false }) if text.eq_ignore_ascii_case("as")) {
                j += 1;
            }
            if matches!(tokens.get(j), Some(Token::Word { .. })) && tokens.get(j + 1) == Some(&Token::Punct(',')) {
                j += 1;
            }
            if tokens.get(j) != Some(&Token::Punct(',')) {
                break;
            }
            at = j + 1;
        }
    }
    out
}

/// Every identifier `body` writes outside strings and comments, quoted ones unquoted
/// (`` `seq_t` `` is `seq_t`): the names a sequence used by `NEXT VALUE FOR s` or read
/// by `FROM s` is among.
pub fn words(body: &str, backslash_escapes: bool) -> Vec<String> {
    tokens(body, backslash_escapes)
        .into_iter()
        .filter_map(|t| match t {
            Token::Word { text, .. } => Some(text),
            Token::Punct(_) => None,
        })
        .collect()
}

fn tokens(body: &str, backslash_escapes: bool) -> Vec<Token> {
    let chars: Vec<char> = body.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let quoted_until = |i: &mut usize, close: char| -> String {
        let mut text = String::new();
        while *i < chars.len() {
            if chars[*i] == close {
                if chars.get(*i + 1) == Some(&close) && close != ']' {
                    text.push(close);
                    *i += 2;
                    continue;
                }
                *i += 1;
                break;
            }
            text.push(chars[*i]);
            *i += 1;
        }
        text
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '-' if chars.get(i + 1) == Some(&'-') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '#' if backslash_escapes => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            '\'' => {
                i += 1;
                while i < chars.len() {
                    match chars[i] {
                        '\\' if backslash_escapes => i += 2,
                        '\'' if chars.get(i + 1) == Some(&'\'') => i += 2,
                        '\'' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            '"' | '`' | '[' => {
                i += 1;
                let close = match c {
                    '[' => ']',
                    other => other,
                };
                let text = quoted_until(&mut i, close);
                out.push(Token::Word { text, quoted: true });
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                out.push(Token::Word {
                    text: chars[start..i].iter().collect(),
                    quoted: false,
                });
            }
            c if c.is_whitespace() => i += 1,
            c => {
                out.push(Token::Punct(c));
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::tables_named;

    fn names(body: &str, backslash: bool) -> Vec<String> {
        tables_named(body, backslash).into_iter().map(|p| p.join(".")).collect()
    }

    #[test]
    fn names_after_the_words_that_introduce_a_table() {
        assert_eq!(
            names(
                "CREATE TRIGGER trg AFTER INSERT ON ai BEGIN INSERT INTO wr VALUES ('t'||NEW.id, NEW.id); END",
                false
            ),
            ["wr"]
        );
        assert_eq!(
            names(
                "CREATE FUNCTION f() RETURNS trigger AS $function$ BEGIN \
                 UPDATE \"Stock\" s SET n = n - 1 FROM public.item i, other o WHERE true; \
                 DELETE FROM log; -- INSERT INTO commented\n \
                 PERFORM 'INSERT INTO quoted'; RETURN NEW; END $function$",
                false
            ),
            ["Stock", "public.item", "other", "log"]
        );
        assert_eq!(
            names(
                "CREATE TRIGGER t BEFORE UPDATE OF a ON x FOR EACH ROW INSERT INTO `db`.`audit` \
                 SELECT 'it\\'s FROM y' FROM dual JOIN z",
                true
            ),
            ["db.audit", "dual", "z"]
        );
    }
}
