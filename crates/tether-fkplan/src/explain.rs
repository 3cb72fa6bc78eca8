//! The `EXPLAIN FK` listing of a [`Plan`]: its steps numbered in the order the gateway
//! runs them, then the rules (what each child FK does) and the parent probes they use.

use std::fmt;

use crate::plan::{Action, ActionKind, Event, NewChildValue, NewRows, Pad, Plan, Start};

/// How an ON UPDATE CASCADE writes the new keys as InnoDB does, where an UPDATE
/// would write them otherwise (see [`crate::Stored`]): one line, if any.
fn stored_keys(f: &mut fmt::Formatter<'_>, action: &Action) -> fmt::Result {
    let mut notes = Vec::new();
    for (column, stored) in action.fk.columns.iter().zip(&action.stored) {
        let column = crate::sql::ident(column);
        match stored.pad {
            Some(Pad::Chars(n)) => notes.push(format!("{column} gets the key padded with spaces to {n} characters")),
            Some(Pad::Utf8Bytes(n)) => notes.push(format!("{column} gets the key padded with spaces to {n} bytes")),
            None => {}
        }
        match (stored.max_bytes, stored.fixed_bytes) {
            (Some(n), true) => notes.push(format!("{column} refuses a key of other than {n} bytes")),
            (Some(n), false) => notes.push(format!("{column} refuses a key longer than {n} bytes")),
            (None, _) => {}
        }
    }
    if notes.is_empty() {
        return Ok(());
    }
    writeln!(
        f,
        "    keys as InnoDB stores them: {} (a key that does not fit the child's column: 1451, as InnoDB)",
        notes.join("; ")
    )
}

impl fmt::Display for Plan {
    /// The EXPLAIN FK listing: numbered steps, then the rules the steps apply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(why) = &self.by_innodb {
            return writeln!(
                f,
                "runs as InnoDB runs it: {why}\n  forwarded unchanged: InnoDB checks and cascades; its cascaded \
                 changes are InnoDB's, not statements of their own"
            );
        }
        let mut n = 0;
        let mut step = |f: &mut fmt::Formatter<'_>, text: String| {
            n += 1;
            writeln!(f, "{n}. {text}")
        };
        let wrapped = !self.is_passthrough();
        if self.pins_time {
            step(
                f,
                "SET timestamp = <the time now> (unless the client set it): the lock read and the statement see one time"
                    .into(),
            )?;
        }
        if wrapped {
            step(f, "BEGIN (or SAVEPOINT inside a transaction)".into())?;
        }
        let by_key = matches!(&self.start, Start::Multi { targets } if targets.iter().any(|t| t.by_key.is_some()));
        if self.native_first && !by_key {
            step(
                f,
                "SAVEPOINT; the original with InnoDB's checks (its error or rows affected is the result); ROLLBACK TO SAVEPOINT; on success the rest runs without checks of its own".into(),
            )?;
        } else if self.native_order {
            step(
                f,
                "behind InnoDB (the order of the rows is the optimizer's): SAVEPOINT; the original with InnoDB's checks (its error or rows affected is the result); ROLLBACK TO SAVEPOINT; on success the rest runs without checks of its own".into(),
            )?;
        }
        if let Some(clash) = &self.clash {
            step(
                f,
                format!(
                    "SHOW INDEX / SHOW FULL COLUMNS FROM `{}`: unless its unique indexes are {} over whole columns with PAD SPACE collations, the original runs natively (InnoDB's checks and cascades) and nothing below",
                    self.table,
                    clash.indexes.join(", ")
                ),
            )?;
        }
        if let Some(pick) = &self.pick {
            let found = match &pick.trial {
                Some(trial) => format!(
                    "SAVEPOINT; {}{trial}{}; ROLLBACK TO SAVEPOINT (its error, if any, is the result)",
                    if pick.trial_checks { "" } else { "with checks off: " },
                    ""
                ),
                None => "the rows of the lock read below, with the statement's LIMIT".to_string(),
            };
            step(
                f,
                format!(
                    "find the rows the statement changes: {found}; below, the lock read is {} and the original runs as {}",
                    pick.read.text(),
                    pick.original.text()
                ),
            )?;
        }
        match &self.start {
            Start::Nothing => {}
            Start::Delete { read } => {
                step(f, format!("lock and read rows deleted from `{}`: {read}", self.table))?;
                step(f, format!("apply `{}` on delete rules to them (below)", self.table))?;
            }
            Start::Update { read } if self.clash.as_ref().is_some_and(|c| !c.flags.is_empty()) => {
                step(
                    f,
                    format!(
                        "lock and read the rows of `{}` the new row clashes with, old and new values: {read}",
                        self.table
                    ),
                )?;
                step(
                    f,
                    "keep the row of the first clashing index in InnoDB's order (INNODB_SYS_INDEXES by INDEX_ID; unreadable while rows clash on different indexes: the original runs natively)".into(),
                )?;
                if !self.rules.is_empty() {
                    step(
                        f,
                        format!("apply `{}` on update rules to changed keys (below)", self.table),
                    )?;
                }
            }
            Start::Update { read } if self.rules.is_empty() => {
                step(
                    f,
                    format!("lock and read old and new values of `{}`: {read}", self.table),
                )?;
            }
            Start::Update { read } => {
                step(f, format!("lock and read old and new keys of `{}`: {read}", self.table))?;
                step(
                    f,
                    format!("apply `{}` on update rules to changed keys (below)", self.table),
                )?;
            }
            Start::Multi { targets } => {
                for t in targets {
                    let what = match t.event {
                        Event::Delete => "rows deleted from",
                        Event::Update => "old and new keys of",
                    };
                    step(f, format!("lock and read {what} `{}`: {}", t.table, t.read))?;
                }
                if by_key {
                    step(
                        f,
                        "SAVEPOINT; the original with InnoDB's checks (its error or rows affected is the result); which of the rows read it deleted; ROLLBACK TO SAVEPOINT; on success the rest runs without checks of its own".into(),
                    )?;
                }
                step(f, "apply their rules (below)".into())?;
            }
            Start::ReplaceSelect(source) => {
                step(f, format!("read the new rows: {}", source.query))?;
                let keys: Vec<String> = source.keys.iter().map(|(k, _)| crate::sql::row_of(k)).collect();
                step(
                    f,
                    format!(
                        "lock and read the rows of `{}` they replace: {}<{} IN the new rows' values> FOR UPDATE",
                        self.table,
                        source.read,
                        keys.join(" or ")
                    ),
                )?;
                step(f, format!("apply `{}` on delete rules to them (below)", self.table))?;
            }
        }
        for (i, s) in self.steps.iter().enumerate() {
            step(f, format!("row {} as its own statement: {}", i + 1, s.original))?;
        }
        if self.parent_checks.is_some() {
            step(
                f,
                format!(
                    "check the parents of the rows written to `{}` (below); the first row without one fails with 1452, or with the error MariaDB meets first going row by row (the original replayed with InnoDB's checks, then rolled back)",
                    self.table
                ),
            )?;
        }
        if !wrapped {
            step(
                f,
                format!(
                    "run unchanged (backend FK checks as the session has them): {}",
                    self.original
                ),
            )?;
        } else if self.original_fk_checks {
            step(f, "all checks passed: SET foreign_key_checks = 0; the child statements in rule order; SET foreign_key_checks = 1".into())?;
            step(
                f,
                format!(
                    "{} (InnoDB checks its parent rows; nothing left to cascade)",
                    self.original
                ),
            )?;
        } else if self.parent_checks.is_some() || self.allocates {
            if self.rules.is_empty() {
                step(
                    f,
                    format!(
                        "all checks passed: SET foreign_key_checks = 0; {}; SET foreign_key_checks = 1",
                        self.original
                    ),
                )?;
            } else {
                step(
                    f,
                    "all checks passed: SET foreign_key_checks = 0; the child statements in rule order".into(),
                )?;
                step(f, format!("{}; SET foreign_key_checks = 1", self.original))?;
            }
        } else if by_key {
            step(
                f,
                "all checks passed: SET foreign_key_checks = 0; per table, DELETE the rows the native run deleted, by primary key".into(),
            )?;
            step(
                f,
                "the child statements in rule order; SET foreign_key_checks = 1".into(),
            )?;
        } else {
            step(
                f,
                format!("all checks passed: SET foreign_key_checks = 0; {}", self.original),
            )?;
            step(
                f,
                "the child statements in rule order; SET foreign_key_checks = 1".into(),
            )?;
        }
        if wrapped {
            step(
                f,
                "COMMIT (or RELEASE SAVEPOINT); on any error ROLLBACK (TO SAVEPOINT)".into(),
            )?;
        }
        for r in &self.rules {
            writeln!(f)?;
            writeln!(
                f,
                "on {} of `{}` (rows carry {}):",
                r.event,
                r.table,
                crate::sql::idents(&r.key_columns)
            )?;
            for a in &r.actions {
                let fk = &a.fk;
                let head = format!("  {}.{} ({})", fk.child, fk.name, crate::sql::idents(&fk.columns));
                match &a.kind {
                    ActionKind::Refuse {
                        probe,
                        error,
                        why,
                        child_ids,
                    } => writeln!(
                        f,
                        "{head} {why}: check {} -> error {} if a row{}",
                        probe.text(),
                        error.code,
                        if *child_ids > 0 {
                            " the statement does not delete before its parent"
                        } else {
                            ""
                        }
                    )?,
                    ActionKind::Delete { statement } => writeln!(f, "{head} CASCADE: {}", statement.text())?,
                    ActionKind::Update { statement, new } => {
                        let what = match new {
                            NewChildValue::Null => "SET NULL",
                            NewChildValue::Default(_) => "SET DEFAULT",
                            NewChildValue::Cascade => "CASCADE",
                        };
                        writeln!(f, "{head} {what}: {}", statement.text())?;
                        if matches!(new, NewChildValue::Cascade) {
                            stored_keys(f, a)?;
                        }
                    }
                }
                if let Some(read) = &a.read {
                    writeln!(f, "    first lock and read the child rows: {}", read.text())?;
                }
            }
        }
        if let Some(pc) = &self.parent_checks {
            writeln!(f)?;
            let source = match &pc.rows {
                NewRows::Values(_) => "the VALUES rows",
                NewRows::Read => "the new values from the lock read, where an FK's columns change",
                NewRows::ReadOrValues(_) => {
                    "the clashing row's new values from the lock read where an FK's columns change, else the VALUES row"
                }
            };
            writeln!(
                f,
                "parents of the rows written to `{}` ({source}; a NULL in an FK skips its check; parents the statement deletes, re-keys or inserts count from that row on):",
                self.table
            )?;
            for c in &pc.checks {
                writeln!(
                    f,
                    "  {}.{} ({}) -> `{}` ({}): {} -> error {} for a key no row matches",
                    c.fk.child,
                    c.fk.name,
                    crate::sql::idents(&c.fk.columns),
                    c.fk.parent,
                    crate::sql::idents(&c.fk.referenced_columns),
                    c.probe.text(),
                    c.error.code
                )?;
            }
        }
        Ok(())
    }
}
