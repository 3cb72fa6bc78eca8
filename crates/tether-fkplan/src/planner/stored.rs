//! Keys as InnoDB stores and compares them, where SQL reads them otherwise: a CHAR
//! is stored padded with spaces and read back without them, a BINARY(n) is stored
//! padded with 0x00, and a NO PAD collation counts trailing spaces. Per FK column
//! pair: what InnoDB's cascade writes into the child ([`Stored`], which the
//! executor follows), and whether the gateway's comparisons (`IN` lists and `=` in
//! the column's collation) find the rows InnoDB's comparison of stored values
//! finds at all (else the statement runs as InnoDB runs it, [`Plan::by_innodb`]).
//!
//! The collations come from the schema's `extras.collations` (the gateway fills
//! them for the FK columns of a MariaDB keyspace); a column without one is read as
//! PAD SPACE in utf8mb4, as the gateway did before it knew collations.

use tether_schema::{FkAction, ForeignKey, Table};

use crate::plan::{Pad, Plan, Stored};

use super::{eq_ci, Analysis, Planner};

/// Character sets of one byte per character, and of a fixed width: a CHAR(n) of
/// theirs is stored as n characters.
const CHARS_WIDE: &[&str] = &[
    "armscii8", "ascii", "binary", "cp1250", "cp1251", "cp1256", "cp1257", "cp850", "cp852", "cp866", "dec8",
    "geostd8", "greek", "hebrew", "hp8", "keybcs2", "koi8r", "koi8u", "latin1", "latin2", "latin5", "latin7", "macce",
    "macroman", "swe7", "tis620", "ucs2", "utf32",
];

/// A column's type as InnoDB stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// CHAR(n): padded with spaces.
    Char(u32),
    /// BINARY(n): padded with 0x00.
    Binary(u32),
    VarBinary(u32),
    /// Stored as written (VARCHAR, TEXT, numbers, ...).
    AsWritten,
}

/// The form of a type as `SHOW COLUMNS` spells it (`char(4)`, `binary(16)`).
fn form(engine_type: &str) -> Form {
    let t = engine_type.trim().to_ascii_lowercase();
    let base: String = t.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let length = t
        .find('(')
        .and_then(|open| {
            let close = t[open..].find(')')? + open;
            t[open + 1..close].trim().parse().ok()
        })
        .unwrap_or(1);
    match base.as_str() {
        "char" => Form::Char(length),
        "binary" => Form::Binary(length),
        "varbinary" => Form::VarBinary(length),
        _ => Form::AsWritten,
    }
}

fn collation<'t>(table: &'t Table, column: &str) -> Option<&'t str> {
    table
        .extras
        .collations
        .iter()
        .find(|(c, _)| eq_ci(c, column))
        .map(|(_, v)| v.as_str())
}

fn no_pad(table: &Table, column: &str) -> bool {
    collation(table, column).is_some_and(|c| c.to_ascii_lowercase().contains("nopad"))
}

/// How a CHAR(n) column of `table` pads what it stores; `Err`: the character set,
/// whose stored width the gateway does not compute (gbk, sjis, utf16, ...).
fn pad(table: &Table, column: &str, n: u32) -> Result<Pad, String> {
    let charset = collation(table, column).map(|c| c.split('_').next().unwrap_or(c).to_ascii_lowercase());
    match charset.as_deref() {
        None | Some("utf8" | "utf8mb3" | "utf8mb4") => Ok(Pad::Utf8Bytes(n)),
        Some(c) if CHARS_WIDE.contains(&c) => Ok(Pad::Chars(n)),
        Some(c) => Err(c.to_string()),
    }
}

fn engine_type<'t>(table: &'t Table, column: &str) -> &'t str {
    table
        .columns
        .iter()
        .find(|c| eq_ci(&c.name, column))
        .map_or("", |c| c.engine_type.as_str())
}

impl Planner<'_> {
    /// The parent table of `fk`, when it is in this keyspace's database.
    fn parent_of(&self, fk: &ForeignKey) -> Option<&Table> {
        if fk.referenced_schema.as_deref().is_some_and(|s| s != self.database) {
            return None;
        }
        self.schema.tables.iter().find(|t| t.name == fk.referenced_table)
    }

    /// Per column of `fk` (of `child`): how InnoDB writes a cascaded key into it.
    pub(super) fn stored(&self, child: &Table, fk: &ForeignKey) -> Vec<Stored> {
        let parent = self.parent_of(fk);
        fk.columns
            .iter()
            .zip(&fk.referenced_columns)
            .map(|(c, r)| {
                let pad = parent.and_then(|p| match form(engine_type(p, r)) {
                    Form::Char(n) => pad(p, r, n).ok(),
                    _ => None,
                });
                let (max_bytes, fixed_bytes) = match form(engine_type(child, c)) {
                    Form::Binary(n) => (Some(n), true),
                    Form::VarBinary(n) => (Some(n), false),
                    _ => (None, false),
                };
                Stored {
                    pad,
                    max_bytes,
                    fixed_bytes,
                }
            })
            .collect()
    }

    /// Why no SQL comparison of the gateway's finds the rows InnoDB's does for `fk`
    /// (of `child`); `None` when they agree. Under a NO PAD collation a CHAR key
    /// counts the spaces it is padded with: paired with a VARCHAR, a TEXT or a
    /// CHAR of another length, InnoDB matches `'ab  '` where `=` matches `'ab'`.
    /// An ON UPDATE CASCADE from a CHAR in a character set whose stored width the
    /// gateway does not compute cannot be written as InnoDB writes it either.
    pub(super) fn undecidable(&self, child: &Table, fk: &ForeignKey) -> Option<String> {
        let parent = self.parent_of(fk)?;
        for (c, r) in fk.columns.iter().zip(&fk.referenced_columns) {
            let (child_type, parent_type) = (engine_type(child, c), engine_type(parent, r));
            let (child_form, parent_form) = (form(child_type), form(parent_type));
            let char_involved = matches!(child_form, Form::Char(_)) || matches!(parent_form, Form::Char(_));
            if char_involved && child_form != parent_form && (no_pad(child, c) || no_pad(parent, r)) {
                let collation = collation(child, c).or_else(|| collation(parent, r)).unwrap_or("NO PAD");
                return Some(format!(
                    "FK `{}` pairs `{}`.`{c}` ({child_type}) with `{}`.`{r}` ({parent_type}) under the NO PAD \
                     collation {collation}: InnoDB compares the keys as stored (a CHAR padded with spaces), \
                     which no comparison of the gateway's can follow",
                    fk.name, child.name, parent.name
                ));
            }
            if let (Form::Char(n), FkAction::Cascade) = (parent_form, fk.on_update) {
                if let Err(charset) = pad(parent, r, n) {
                    return Some(format!(
                        "FK `{}` cascades `{}`.`{r}` ({parent_type}, character set {charset}) into `{}`.`{c}`: \
                         InnoDB cascades the key padded as stored, which the gateway does not compute for \
                         that character set",
                        fk.name, parent.name, child.name
                    ));
                }
            }
        }
        None
    }

    /// The first FK `plan` reaches (its rules' child FKs, its parent checks, those
    /// of its steps) that [`Self::undecidable`] names, with why.
    fn undecidable_in(&self, plan: &Plan) -> Option<String> {
        let fks = plan
            .rules
            .iter()
            .flat_map(|r| &r.actions)
            .map(|a| &a.fk)
            .chain(plan.parent_checks.iter().flat_map(|c| &c.checks).map(|c| &c.fk));
        for fk in fks {
            let Some(child) = self.schema.tables.iter().find(|t| t.name == fk.child) else {
                continue;
            };
            let Some(declared) = child.foreign_keys.iter().find(|f| f.name == fk.name) else {
                continue;
            };
            if let Some(why) = self.undecidable(child, declared) {
                return Some(why);
            }
        }
        plan.steps.iter().find_map(|s| self.undecidable_in(s))
    }

    /// A plan that reaches an FK whose keys only InnoDB compares right runs as
    /// InnoDB runs it ([`Plan::by_innodb`]).
    pub(super) fn stored_by_innodb(&self, analysis: Analysis) -> Analysis {
        match analysis {
            Analysis::Plan(mut plan) => {
                plan.by_innodb = self.undecidable_in(&plan);
                Analysis::Plan(plan)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{form, Form};

    #[test]
    fn forms_of_engine_types() {
        assert_eq!(form("char(4)"), Form::Char(4));
        assert_eq!(form("CHAR"), Form::Char(1));
        assert_eq!(form("binary(16)"), Form::Binary(16));
        assert_eq!(form("varbinary(8)"), Form::VarBinary(8));
        assert_eq!(form("varchar(4)"), Form::AsWritten);
        assert_eq!(form("int(11)"), Form::AsWritten);
    }
}
