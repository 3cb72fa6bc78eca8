//! The user's ALTER text, cut where it must change and otherwise kept byte for byte:
//! the shadow gets `ALTER TABLE <shadow>` followed by the user's own operations (less
//! its `DROP FOREIGN KEY`s), never sqlparser's reprint of them, which unescapes
//! backslashes in string literals and moves `BINARY` over a whole comparison (review
//! r13b, findings 1 and 2). `ALTER ONLINE TABLE` is read as `ALTER TABLE` (a
//! migration is online); `ALTER IGNORE TABLE` is refused (its copy deletes rows).

use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use tether_fkplan::Lines;

/// An ALTER TABLE statement's text, cut into its parts.
#[derive(Debug)]
pub struct AlterText<'a> {
    /// `ALTER IGNORE TABLE`.
    pub ignore: bool,
    /// The table name as written (quotes kept).
    pub name: &'a str,
    /// The operations, split at the commas outside parentheses, each as written
    /// (without its comma), with whether it is a `DROP FOREIGN KEY`.
    pub operations: Vec<(&'a str, bool)>,
}

/// Cuts `sql` (one `ALTER [ONLINE] [IGNORE] TABLE name ...`). `Err` with the reason
/// when it cannot be cut safely.
pub fn cut(sql: &str) -> Result<AlterText<'_>, String> {
    if has_executable_comment(sql) {
        // The tokenizer reads them as code (and loses their place in the text).
        return Err("executable comments (`/*! ... */`) in an online ALTER are not supported".into());
    }
    let tokens = Tokenizer::new(&MySqlDialect {}, sql)
        .tokenize_with_location()
        .map_err(|e| format!("cannot read the statement: {e}"))?;
    let lines = Lines::new(sql);
    let mut at = Vec::with_capacity(tokens.len());
    for t in &tokens {
        at.push(
            lines
                .offset(sql, t.span.start)
                .ok_or("cannot locate a token of the statement")?,
        );
    }
    let end_of = |i: usize| at.get(i + 1).copied().unwrap_or(sql.len());
    let solid: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
        .collect();
    let word = |k: usize| match solid.get(k).map(|&i| &tokens[i].token) {
        Some(Token::Word(w)) if w.quote_style.is_none() => w.value.to_ascii_uppercase(),
        _ => String::new(),
    };
    if word(0) != "ALTER" {
        return Err("expected one ALTER TABLE statement".into());
    }
    let mut k = 1;
    let (mut online, mut ignore) = (false, false);
    loop {
        match word(k).as_str() {
            "ONLINE" if !online && !ignore => online = true,
            "IGNORE" if !ignore => ignore = true,
            _ => break,
        }
        k += 1;
    }
    if word(k) != "TABLE" {
        return Err("expected one ALTER TABLE statement".into());
    }
    k += 1;
    // The name: a word, or words joined by periods.
    let name_first = *solid.get(k).ok_or("the table name is missing")?;
    if !matches!(tokens[name_first].token, Token::Word(_)) {
        return Err("the table name is missing".into());
    }
    let mut name_last = name_first;
    while let (Some(&dot), Some(&next)) = (solid.get(k + 1), solid.get(k + 2)) {
        if matches!(tokens[dot].token, Token::Period) && matches!(tokens[next].token, Token::Word(_)) {
            name_last = next;
            k += 2;
        } else {
            break;
        }
    }
    let name = sql[at[name_first]..end_of(name_last)].trim_end();
    // The operations: from after the name to the end (a final `;` left out).
    let mut operations = Vec::new();
    let mut depth = 0usize;
    let mut start = end_of(name_last);
    let mut words_in: Vec<String> = Vec::new();
    let mut finish = |from: usize, to: usize, words: &[String]| {
        let text = &sql[from..to];
        if text.trim().is_empty() {
            return Err("an empty operation (two commas in a row)".to_string());
        }
        let drop_fk = words.len() >= 3 && words[0] == "DROP" && words[1] == "FOREIGN" && words[2] == "KEY";
        if drop_fk {
            // DROP FOREIGN KEY [IF EXISTS] name: anything more would go with it.
            let plain = words.len() == 4 || (words.len() == 6 && words[3] == "IF" && words[4] == "EXISTS");
            if !plain {
                return Err(format!("cannot tell `{}` from what follows it", text.trim()));
            }
        }
        operations.push((text, drop_fk));
        Ok(())
    };
    let mut i = name_last + 1;
    let mut end = sql.len();
    let mut had_comma = false;
    while i < tokens.len() {
        match &tokens[i].token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                finish(start, at[i], &words_in)?;
                had_comma = true;
                words_in.clear();
                start = end_of(i);
            }
            Token::SemiColon if depth == 0 => {
                if tokens[i + 1..]
                    .iter()
                    .any(|t| !matches!(t.token, Token::Whitespace(_) | Token::EOF))
                {
                    return Err("expected one ALTER TABLE statement".into());
                }
                end = at[i];
                break;
            }
            Token::Whitespace(_) | Token::EOF => {}
            Token::Word(w) => words_in.push(if w.quote_style.is_none() {
                w.value.to_ascii_uppercase()
            } else {
                format!("`{}`", w.value)
            }),
            other => words_in.push(other.to_string()),
        }
        i += 1;
    }
    if !sql[start..end].trim().is_empty() || had_comma {
        finish(start, end, &words_in)?;
    }
    Ok(AlterText {
        ignore,
        name,
        operations,
    })
}

impl AlterText<'_> {
    /// `ALTER TABLE <name> ...` as written, without ONLINE (what the parser reads).
    pub fn plain(&self) -> String {
        let ops: Vec<&str> = self.operations.iter().map(|(t, _)| *t).collect();
        format!("ALTER TABLE {}{}", self.name, join(&ops))
    }

    /// The statement aimed at `shadow` (an already quoted name): the user's operations
    /// as written, less the `DROP FOREIGN KEY`s; `None` when nothing else is left.
    pub fn for_shadow(&self, shadow: &str) -> Option<String> {
        let ops: Vec<&str> = self.operations.iter().filter(|(_, d)| !d).map(|(t, _)| *t).collect();
        if ops.is_empty() {
            return None;
        }
        Some(format!("ALTER TABLE {shadow}{}", join(&ops)))
    }

    /// How many operations are `DROP FOREIGN KEY`s.
    pub fn fk_drops(&self) -> usize {
        self.operations.iter().filter(|(_, d)| *d).count()
    }
}

/// Operations joined by commas, each keeping its own spacing (the first one's
/// leading space is made sure of).
fn join(ops: &[&str]) -> String {
    let mut s = ops.join(",");
    if !s.is_empty() && !s.starts_with(char::is_whitespace) {
        s.insert(0, ' ');
    }
    s.trim_end().to_string()
}

/// True when `sql` has a `/*!` or `/*M!` comment outside quotes.
fn has_executable_comment(sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    if b[i] == b'\\' && q != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                if b.get(i + 2) == Some(&b'!') || (b.get(i + 2) == Some(&b'M') && b.get(i + 3) == Some(&b'!')) {
                    return true;
                }
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shadow_gets_the_users_text() {
        let a = cut("ALTER TABLE p ADD COLUMN path VARCHAR(20) NOT NULL DEFAULT 'C:\\\\tmp\\\\back';").expect("cuts");
        assert_eq!(
            a.for_shadow("`_p_new`").as_deref(),
            Some("ALTER TABLE `_p_new` ADD COLUMN path VARCHAR(20) NOT NULL DEFAULT 'C:\\\\tmp\\\\back'")
        );
        let a = cut("alter table `p` ADD COLUMN g INT AS (BINARY name = 'A') VIRTUAL").expect("cuts");
        assert_eq!(
            a.for_shadow("`s`").as_deref(),
            Some("ALTER TABLE `s` ADD COLUMN g INT AS (BINARY name = 'A') VIRTUAL")
        );
    }

    #[test]
    fn fk_drops_are_cut_out() {
        let a =
            cut("ALTER TABLE c DROP FOREIGN KEY f1, ADD INDEX i (a, b), drop foreign key if exists `f,2`, ADD x INT")
                .expect("cuts");
        assert_eq!(a.fk_drops(), 2);
        assert_eq!(
            a.for_shadow("`s`").as_deref(),
            Some("ALTER TABLE `s` ADD INDEX i (a, b), ADD x INT")
        );
        assert_eq!(
            cut("ALTER TABLE c DROP FOREIGN KEY f1")
                .expect("cuts")
                .for_shadow("`s`"),
            None
        );
        assert!(cut("ALTER TABLE c DROP FOREIGN KEY f1 ENGINE=InnoDB").is_err());
    }

    #[test]
    fn online_and_ignore_are_read() {
        let a = cut("ALTER ONLINE TABLE p ADD z INT DEFAULT 1").expect("cuts");
        assert!(!a.ignore);
        assert_eq!(a.plain(), "ALTER TABLE p ADD z INT DEFAULT 1");
        let a = cut("ALTER IGNORE TABLE p ADD UNIQUE KEY un (name)").expect("cuts");
        assert!(a.ignore);
        assert!(cut("ALTER TABLE p /*!100000 ADD z INT */").is_err());
        assert!(cut("ALTER TABLE p ADD z INT COMMENT '/*!1 x */' /* ok */").is_ok());
        assert!(cut("ALTER TABLE p ADD z INT; DROP TABLE p").is_err());
    }
}
