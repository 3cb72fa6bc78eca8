//! Routines, events and triggers created within reach of a disallow keyspace.
//! Their bodies run later (a CALL, the event scheduler, a row change), where the
//! gateway does not see them, so they are judged when created, by their words:
//! a body that can run text the gateway cannot read (PREPARE, EXECUTE), rename a
//! table in, or says FOREIGN KEY / REFERENCES is refused.

use std::sync::Arc;

use super::{disallowed, foreign_key_in, readings, Token};
use crate::config::FkMode;
use crate::keyspace::Keyspace;
use crate::protocol::multi::Lexing;
use crate::reply::ServerError;
use crate::route;

/// The refusal of `sql` when it creates a routine, an event or a trigger (or
/// gives an event a new body) whose body may put a foreign key into the
/// database of a disallow keyspace: `ks`'s own, or one of `others` (on the same
/// server) that the body names as `db.t`, or any of them for dynamic SQL,
/// whose text may name any database.
pub fn refusal(sql: &str, ks: &Keyspace, others: &[Arc<Keyspace>], lexing: Lexing) -> Option<ServerError> {
    let codes = readings(sql);
    let routine = codes.iter().find_map(|code| routine(code))?;
    let bodies: Vec<&[Token]> = codes.iter().map(|code| body(code, &routine)).collect();
    let has = |word: &str| bodies.iter().any(|b| b.iter().any(|t| t.is(word)));
    let dynamic = ["execute", "prepare"].into_iter().find(|w| has(w));
    let rename = has("rename");
    let fk = bodies.iter().find_map(|b| foreign_key_in(b));
    let own = (ks.mode() == FkMode::Disallow).then_some(ks);
    let reached = own
        .into_iter()
        .chain(others.iter().map(|o| &**o).filter(|o| o.mode() == FkMode::Disallow));
    for target in reached {
        let named = std::ptr::eq(target, ks) || !route::qualified_names(sql, &target.spec.database, lexing).is_empty();
        let name = &target.spec.name;
        if let Some(word) = dynamic {
            return Some(ServerError::gateway(format!(
                "tether gateway: {} `{}` is refused in keyspace `{}`'s session: its body runs dynamic SQL ({}), \
                 which could create a foreign key in keyspace `{name}` (foreignKeyMode: disallow) when it runs, out \
                 of the gateway's sight; run the statements as queries of their own",
                routine.kind,
                routine.name,
                ks.spec.name,
                word.to_ascii_uppercase()
            )));
        }
        if !named {
            continue;
        }
        if rename {
            return Some(ServerError::gateway(format!(
                "tether gateway: {} `{}` is refused in keyspace `{}`'s session: its body renames tables, which \
                 could move a table with foreign keys into keyspace `{name}` (foreignKeyMode: disallow) when it \
                 runs, out of the gateway's sight; send the RENAME as a statement of its own",
                routine.kind, routine.name, ks.spec.name
            )));
        }
        if let Some(fk) = &fk {
            if fk.table != "?" {
                return Some(disallowed(name, fk));
            }
            return Some(ServerError::new(
                1215,
                "HY000",
                format!(
                    "Cannot add foreign key constraint: the body of {} `{}` says FOREIGN KEY or REFERENCES (the \
                     gateway judges a body by its words, `GRANT REFERENCES` too): foreign keys are disallowed in \
                     keyspace `{name}` (foreignKeyMode: disallow)",
                    routine.kind, routine.name
                ),
            ));
        }
    }
    None
}

/// A routine, event or trigger a statement creates: its kind and name.
struct Routine {
    kind: &'static str,
    name: String,
    /// An event: its body starts after `DO`.
    event: bool,
}

/// The routine `code` creates: `CREATE [OR REPLACE] [DEFINER = ...] [...]
/// {PROCEDURE | FUNCTION | EVENT | TRIGGER | PACKAGE} [IF NOT EXISTS] name`, or
/// `ALTER EVENT name ... DO` (the only ALTER that gives a new body).
fn routine(code: &[Token]) -> Option<Routine> {
    const KINDS: [&str; 13] = [
        "procedure",
        "function",
        "event",
        "trigger",
        "package",
        "table",
        "view",
        "index",
        "database",
        "schema",
        "user",
        "role",
        "sequence",
    ];
    let alter = code.first()?.is("alter");
    if !(alter || code.first()?.is("create")) {
        return None;
    }
    let at = code.iter().position(|t| KINDS.iter().any(|k| t.is(k)))?;
    let kind = match &code[at] {
        Token::Word(w) => w.to_ascii_lowercase(),
        _ => return None,
    };
    let kind: &'static str = match kind.as_str() {
        "procedure" => "procedure",
        "function" => "function",
        "event" => "event",
        "trigger" => "trigger",
        "package" => "package",
        _ => return None,
    };
    if alter && (kind != "event" || !code.iter().any(|t| t.is("do"))) {
        return None;
    }
    let mut rest = &code[at + 1..];
    if let [i, n, e, tail @ ..] = rest {
        if i.is("if") && n.is("not") && e.is("exists") {
            rest = tail;
        }
    }
    // `package body name`: the name after BODY.
    if kind == "package" && rest.first().is_some_and(|t| t.is("body")) {
        rest = &rest[1..];
    }
    let name = match rest {
        [db, Token::Punct(b'.'), t, ..] => format!("{}.{}", db.name()?, t.name()?),
        [t, ..] => t.name()?.to_string(),
        [] => "?".to_string(),
    };
    Some(Routine {
        kind,
        name,
        event: kind == "event",
    })
}

/// The tokens of `code` that are the routine's body (an event's after `DO`, as
/// its schedule and `RENAME TO` are not run; the whole statement otherwise).
fn body<'c>(code: &'c [Token], routine: &Routine) -> &'c [Token] {
    if !routine.event {
        return code;
    }
    match code.iter().position(|t| t.is("do")) {
        Some(at) => &code[at + 1..],
        None => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(sql: &str) -> Option<(&'static str, String)> {
        routine(&super::super::tokens(sql, Lexing::DEFAULT)).map(|r| (r.kind, r.name))
    }

    #[test]
    fn finds_what_a_statement_creates() {
        assert_eq!(
            named("CREATE PROCEDURE mk() SELECT 1"),
            Some(("procedure", "mk".into()))
        );
        assert_eq!(
            named("CREATE OR REPLACE DEFINER = `a`@`%` PROCEDURE IF NOT EXISTS `d`.`p 1`() SELECT 1"),
            Some(("procedure", "d.p 1".into()))
        );
        assert_eq!(
            named("CREATE EVENT ev ON SCHEDULE EVERY 1 DAY DO SELECT 1"),
            Some(("event", "ev".into()))
        );
        assert_eq!(named("ALTER EVENT ev DO SELECT 1"), Some(("event", "ev".into())));
        assert_eq!(named("ALTER EVENT ev RENAME TO ev2"), None);
        assert_eq!(named("ALTER PROCEDURE mk COMMENT 'x'"), None);
        assert_eq!(named("CREATE TABLE procedure (id INT)"), None);
        assert_eq!(named("CREATE VIEW v AS SELECT * FROM trigger"), None);
        assert_eq!(
            named("CREATE TRIGGER tr BEFORE INSERT ON c FOR EACH ROW SET NEW.v = 1"),
            Some(("trigger", "tr".into()))
        );
    }
}
