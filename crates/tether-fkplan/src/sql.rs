//! MariaDB/MySQL SQL text: identifier quoting, literals, and cutting the original text
//! of a parsed expression out of the statement (sqlparser's `Display` ignores the
//! dialect, so the planner forwards the user's own text wherever it can).

use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Location;

/// `name` quoted with backticks, inner backticks doubled.
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A comma-separated list of quoted identifiers.
pub fn idents(names: &[String]) -> String {
    names.iter().map(|n| ident(n)).collect::<Vec<_>>().join(", ")
}

/// A column list as a row constructor: `` `a` `` for one column, `` (`a`, `b`) `` for more.
pub fn row_of(names: &[String]) -> String {
    if names.len() == 1 {
        ident(&names[0])
    } else {
        format!("({})", idents(names))
    }
}

/// A string literal for MariaDB with the default SQL mode (backslash escapes on).
pub fn string_literal(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    match std::str::from_utf8(value) {
        Ok(text) => {
            for ch in text.chars() {
                match ch {
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    '\0' => out.push_str("\\0"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\u{1a}' => out.push_str("\\Z"),
                    c => out.push(c),
                }
            }
            out.push('\'');
            out
        }
        Err(_) => {
            // Not text: a hex literal keeps every byte.
            let mut hex = String::from("X'");
            for b in value {
                hex.push_str(&format!("{b:02X}"));
            }
            hex.push('\'');
            hex
        }
    }
}

/// Byte offsets of the start of each line of `text` (line 1 is index 0).
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            starts.push(i + 1);
        }
    }
    starts
}

/// The byte offset of a 1-based line/column location (columns count characters).
fn offset_of(text: &str, starts: &[usize], loc: Location) -> Option<usize> {
    let line = usize::try_from(loc.line).ok()?;
    let column = usize::try_from(loc.column).ok()?;
    if line == 0 || column == 0 {
        return None;
    }
    let start = *starts.get(line - 1)?;
    let rest = text.get(start..)?;
    let mut chars = rest.char_indices();
    let mut offset = start;
    for _ in 1..column {
        let (_, ch) = chars.next()?;
        offset += ch.len_utf8();
    }
    Some(offset)
}

/// Source text of a statement, able to hand back the original text of its parts.
pub struct Source<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str) -> Self {
        Source {
            text,
            starts: line_starts(text),
        }
    }

    /// The original text of an AST node, checked by parsing it back: the slice must
    /// parse to the same expression. Falls back to the node's `Display` (safe for
    /// expressions without string literals) when spans are missing.
    pub fn expr_text(&self, expr: &sqlparser::ast::Expr) -> String {
        if let Some(text) = self.slice(expr.span()) {
            if reparses_to(text, expr) {
                return text.to_string();
            }
            // Span ends are exclusive for most tokens; try one more character.
            if let Some(longer) = self.slice_inclusive(expr.span()) {
                if reparses_to(longer, expr) {
                    return longer.to_string();
                }
            }
        }
        expr.to_string()
    }

    fn slice(&self, span: sqlparser::tokenizer::Span) -> Option<&'a str> {
        let start = offset_of(self.text, &self.starts, span.start)?;
        let end = offset_of(self.text, &self.starts, span.end)?;
        if end <= start {
            return None;
        }
        self.text.get(start..end)
    }

    fn slice_inclusive(&self, span: sqlparser::tokenizer::Span) -> Option<&'a str> {
        let start = offset_of(self.text, &self.starts, span.start)?;
        let end = offset_of(self.text, &self.starts, span.end)?;
        let rest = self.text.get(end..)?;
        let extra = rest.chars().next()?.len_utf8();
        self.text.get(start..end + extra)
    }
}

fn reparses_to(text: &str, expr: &sqlparser::ast::Expr) -> bool {
    let dialect = sqlparser::dialect::MySqlDialect {};
    match sqlparser::parser::Parser::new(&dialect).try_with_sql(text) {
        Ok(mut p) => match p.parse_expr() {
            Ok(parsed) => {
                parsed.to_string() == expr.to_string()
                    && matches!(p.peek_token().token, sqlparser::tokenizer::Token::EOF)
            }
            Err(_) => false,
        },
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals() {
        assert_eq!(ident("a`b"), "`a``b`");
        assert_eq!(row_of(&["a".into()]), "`a`");
        assert_eq!(row_of(&["a".into(), "b".into()]), "(`a`, `b`)");
        assert_eq!(string_literal(b"it's \\ ok"), "'it\\'s \\\\ ok'");
        assert_eq!(string_literal(&[0xff, 0x00]), "X'FF00'");
    }

    #[test]
    fn expression_text_is_the_original() {
        let sql = "UPDATE t SET a = CONCAT('x\\\\y', b) , c = c + 1 WHERE id IN (1, 2)";
        let dialect = sqlparser::dialect::MySqlDialect {};
        let stmt = sqlparser::parser::Parser::parse_sql(&dialect, sql).expect("parses");
        let sqlparser::ast::Statement::Update(u) = &stmt[0] else {
            panic!("not an update")
        };
        let src = Source::new(sql);
        assert_eq!(src.expr_text(&u.assignments[0].value), "CONCAT('x\\\\y', b)");
        assert_eq!(src.expr_text(&u.assignments[1].value), "c + 1");
        assert_eq!(src.expr_text(u.selection.as_ref().expect("where")), "id IN (1, 2)");
    }
}
