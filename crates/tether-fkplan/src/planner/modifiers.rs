//! `DELETE [LOW_PRIORITY] [QUICK] [IGNORE]` and `UPDATE [LOW_PRIORITY] [IGNORE]`:
//! the parser takes these words for a table name (`UPDATE IGNORE p` as an UPDATE
//! of a table `IGNORE` aliased `p`), so they are read off the text before it is
//! parsed. LOW_PRIORITY and QUICK change nothing for InnoDB (table-level locks,
//! MyISAM index merging) and are dropped; IGNORE changes what the statement does
//! (errors become warnings, their rows skipped) and is kept for the planner to
//! decide on.

/// What [`read`] found before the statement's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Modifiers {
    /// The text the parser reads: the statement without its modifiers.
    pub parsed: String,
    /// The text that runs: without LOW_PRIORITY / QUICK, with IGNORE if given.
    pub original: String,
    /// Whether IGNORE was given.
    pub ignore: bool,
}

/// The modifiers right after the first word of a DELETE / UPDATE (separated by
/// whitespace, in any order); `None` when it has none (or is neither).
pub(crate) fn read(sql: &str) -> Option<Modifiers> {
    let text = sql.trim_start();
    let first = text.split_whitespace().next()?;
    let verb = first.to_ascii_lowercase();
    if verb != "delete" && verb != "update" {
        return None;
    }
    let mut rest = text[first.len()..].trim_start();
    let (mut found, mut ignore) = (false, false);
    loop {
        let word = rest.split_whitespace().next().unwrap_or("");
        match word.to_ascii_lowercase().as_str() {
            "low_priority" => {}
            "quick" if verb == "delete" => {}
            "ignore" => ignore = true,
            _ => break,
        }
        found = true;
        rest = rest[word.len()..].trim_start();
    }
    if !found {
        return None;
    }
    Some(Modifiers {
        parsed: format!("{first} {rest}"),
        original: match ignore {
            true => format!("{first} IGNORE {rest}"),
            false => format!("{first} {rest}"),
        },
        ignore,
    })
}

/// `sql` as the parser should read it: without the modifiers right after its
/// first word (`UPDATE LOW_PRIORITY IGNORE t` -> `UPDATE t`); `None` when it has
/// none (or is no DELETE / UPDATE).
pub fn without_modifiers(sql: &str) -> Option<String> {
    read(sql).map(|m| m.parsed)
}

/// True when a table name the parser read is one of the modifier words written
/// bare: a modifier [`read`] could not take off (a comment before it), which the
/// parser read as the statement's table.
pub(crate) fn misread(statement: &sqlparser::ast::Statement) -> bool {
    let bare = |name: &sqlparser::ast::ObjectName| match name.0.as_slice() {
        [sqlparser::ast::ObjectNamePart::Identifier(i)] => {
            i.quote_style.is_none()
                && matches!(
                    i.value.to_ascii_lowercase().as_str(),
                    "ignore" | "low_priority" | "quick"
                )
        }
        _ => false,
    };
    let mut found = false;
    let _ = sqlparser::ast::visit_relations(statement, |name| {
        found |= bare(name);
        std::ops::ControlFlow::<()>::Continue(())
    });
    // `DELETE t1 FROM ...`: the targets are names, not relations.
    if let sqlparser::ast::Statement::Delete(d) = statement {
        found |= d.tables.iter().any(bare);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::read;

    #[test]
    fn modifiers_are_read_off_delete_and_update() {
        let m = read("DELETE QUICK LOW_PRIORITY FROM t WHERE id = 1").expect("modifiers");
        assert_eq!(m.parsed, "DELETE FROM t WHERE id = 1");
        assert_eq!(m.original, "DELETE FROM t WHERE id = 1");
        assert!(!m.ignore);
        let m = read("  update low_priority ignore p SET id = 2").expect("modifiers");
        assert_eq!(m.parsed, "update p SET id = 2");
        assert_eq!(m.original, "update IGNORE p SET id = 2");
        assert!(m.ignore);
        let m = read("DELETE IGNORE FROM p").expect("modifiers");
        assert_eq!(
            (m.parsed.as_str(), m.original.as_str()),
            ("DELETE FROM p", "DELETE IGNORE FROM p")
        );
        assert_eq!(read("DELETE FROM p"), None);
        assert_eq!(read("UPDATE quick SET a = 1"), None);
        assert_eq!(read("INSERT IGNORE INTO p VALUES (1)"), None);
    }
}
