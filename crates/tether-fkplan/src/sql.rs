//! MariaDB/MySQL SQL text: identifier quoting, literals, and cutting the original text
//! of a parsed expression out of the statement (sqlparser's `Display` ignores the
//! dialect, so the planner forwards the user's own text wherever it can).

use sqlparser::ast::Spanned;
use sqlparser::tokenizer::Location;

/// `name` quoted with backticks, inner backticks doubled.
pub fn ident(name: &str) -> String {
    tether_schema::sql::ident(tether_schema::Engine::Mysql, name)
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

/// A string literal for MariaDB with the default SQL mode (backslash escapes on); bytes
/// that are not UTF-8 become a hex literal.
pub fn string_literal(value: &[u8]) -> String {
    tether_schema::sql::mysql_bytes(value)
}

/// Byte offsets of the start of each line of `text` (line 1 is index 0).
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            starts.push(i + 1);
        }
    }
    starts
}

/// The byte offset of a 1-based line/column location (columns count characters).
pub fn offset_of(text: &str, starts: &[usize], loc: Location) -> Option<usize> {
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
#[derive(Clone)]
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

    /// The original text from where `span` starts to the end of the statement
    /// (without a trailing `;`): the source of an `INSERT ... SELECT`.
    pub fn rest_from(&self, span: sqlparser::tokenizer::Span) -> Option<&'a str> {
        let start = offset_of(self.text, &self.starts, span.start)?;
        let rest = self.text.get(start..)?.trim_end();
        let rest = rest.strip_suffix(';').unwrap_or(rest).trim_end();
        (!rest.is_empty()).then_some(rest)
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

/// `UPDATE a, b SET ...` with the commas of its table list (outside parentheses)
/// turned into `JOIN`s, which mean the same in MariaDB: the SQL parser knows only
/// the JOIN form. `None` when `sql` is not an UPDATE with such a list.
pub fn comma_joins(sql: &str) -> Option<String> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::{Token, Tokenizer};
    let dialect = sqlparser::dialect::MySqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql).tokenize_with_location().ok()?;
    let starts = line_starts(sql);
    let mut words = tokens.iter().filter(|t| !matches!(t.token, Token::Whitespace(_)));
    match words.next().map(|t| &t.token) {
        Some(Token::Word(w)) if w.keyword == Keyword::UPDATE => {}
        _ => return None,
    }
    let mut depth = 0usize;
    let mut commas = Vec::new();
    for t in words {
        match &t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => commas.push(offset_of(sql, &starts, t.span.start)?),
            Token::Word(w) if depth == 0 && w.keyword == Keyword::SET => break,
            _ => {}
        }
    }
    if commas.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(sql.len() + 8 * commas.len());
    let mut at = 0;
    for c in commas {
        out.push_str(sql.get(at..c)?);
        out.push_str(" JOIN ");
        at = c + 1;
    }
    out.push_str(sql.get(at..)?);
    Some(out)
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
    fn comma_joined_update_tables() {
        assert_eq!(
            comma_joins("UPDATE customer c, address a SET c.x = CONCAT('a,b', 1) WHERE a.id IN (1, 2)").as_deref(),
            Some("UPDATE customer c JOIN  address a SET c.x = CONCAT('a,b', 1) WHERE a.id IN (1, 2)")
        );
        assert_eq!(comma_joins("UPDATE t SET a = 1, b = 2"), None);
        assert_eq!(comma_joins("DELETE FROM a, b USING a, b"), None);
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
