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

/// Where each line of a text starts, to turn the parser's 1-based line/column
/// locations (columns count characters) into byte offsets in constant time: a
/// statement of 65,536 rows on one line has a location per value, and walking the
/// line for each of them made planning it quadratic.
#[derive(Clone)]
pub struct Lines {
    /// Byte offset of the start of each line (line 1 is index 0).
    starts: Vec<usize>,
    /// Per line, empty when the line is ASCII (a column is a byte); otherwise the
    /// byte offset (from the line's start) of every `MARK`th character.
    marks: Vec<Vec<usize>>,
}

/// Characters between two recorded offsets of a line that is not ASCII.
const MARK: usize = 64;

impl Lines {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        let mut marks = Vec::new();
        for line in text.split_inclusive('\n') {
            marks.push(if line.is_ascii() {
                Vec::new()
            } else {
                line.char_indices().step_by(MARK).map(|(at, _)| at).collect()
            });
            starts.push(starts.last().copied().unwrap_or(0) + line.len());
        }
        if text.ends_with('\n') || text.is_empty() {
            marks.push(Vec::new());
        } else {
            starts.pop();
        }
        Lines { starts, marks }
    }

    /// The byte offset of a 1-based line/column location in `text` (the text these
    /// lines were read from).
    pub fn offset(&self, text: &str, loc: Location) -> Option<usize> {
        let line = usize::try_from(loc.line).ok()?.checked_sub(1)?;
        let column = usize::try_from(loc.column).ok()?.checked_sub(1)?;
        let start = *self.starts.get(line)?;
        let marks = self.marks.get(line)?;
        let end = self.starts.get(line + 1).copied().unwrap_or(text.len());
        let rest = text.get(start..end)?;
        if marks.is_empty() {
            // An ASCII line; the column may point one past its end.
            return (column <= rest.len()).then_some(start + column);
        }
        let mark = (column / MARK).min(marks.len().checked_sub(1)?);
        let from = *marks.get(mark)?;
        let mut chars = rest.get(from..)?.char_indices();
        for _ in 0..column - mark * MARK {
            chars.next()?;
        }
        let within = chars.next().map_or(rest.len() - from, |(at, _)| at);
        Some(start + from + within)
    }
}

/// Source text of a statement, able to hand back the original text of its parts.
#[derive(Clone)]
pub struct Source<'a> {
    text: &'a str,
    lines: Lines,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str) -> Self {
        Source {
            text,
            lines: Lines::new(text),
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
        let start = self.lines.offset(self.text, span.start)?;
        let rest = self.text.get(start..)?.trim_end();
        let rest = rest.strip_suffix(';').unwrap_or(rest).trim_end();
        (!rest.is_empty()).then_some(rest)
    }

    fn slice(&self, span: sqlparser::tokenizer::Span) -> Option<&'a str> {
        let start = self.lines.offset(self.text, span.start)?;
        let end = self.lines.offset(self.text, span.end)?;
        if end <= start {
            return None;
        }
        self.text.get(start..end)
    }

    fn slice_inclusive(&self, span: sqlparser::tokenizer::Span) -> Option<&'a str> {
        let start = self.lines.offset(self.text, span.start)?;
        let end = self.lines.offset(self.text, span.end)?;
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
    let lines = Lines::new(sql);
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
            Token::Comma if depth == 0 => commas.push(lines.offset(sql, t.span.start)?),
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

    /// Every location of every character (and one past each line's end) maps to the
    /// byte offset a walk over the characters gives, on ASCII and non-ASCII lines
    /// around the recorded marks.
    #[test]
    fn locations_map_to_the_offsets_of_their_characters() {
        let long: String = "é".repeat(63) + "x" + &"ü".repeat(70) + "€";
        for text in [
            "",
            "a",
            "ab\n",
            "a\nb",
            "\n\n",
            "SELECT 1,\n  'ä', 2",
            long.as_str(),
            &format!("{long}\n{long}\nz"),
        ] {
            let lines = Lines::new(text);
            for (number, line) in text.split('\n').enumerate() {
                let start = line.as_ptr() as usize - text.as_ptr() as usize;
                let mut offsets: Vec<usize> = line.char_indices().map(|(at, _)| start + at).collect();
                offsets.push(start + line.len());
                for (column, offset) in offsets.iter().enumerate() {
                    let loc = Location::new(u64::try_from(number + 1).unwrap(), u64::try_from(column + 1).unwrap());
                    assert_eq!(lines.offset(text, loc), Some(*offset), "{text:?} at {loc:?}");
                }
            }
            assert_eq!(lines.offset(text, Location::new(0, 1)), None);
            assert_eq!(lines.offset(text, Location::new(1, 0)), None);
        }
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
