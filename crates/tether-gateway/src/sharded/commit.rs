//! Statements that end the client's transaction on a Spider head by committing it
//! implicitly (MariaDB's "SQL statements that cause an implicit commit"). In a
//! managed sharded keyspace the gateway runs that commit itself, before the
//! statement, so that a data node refusing its XA COMMIT is recovered at once
//! (review r25j F3): see `Session::route`.

/// What one statement (a piece of `guard::statements`) does to an open transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Implicit {
    /// It does not commit it.
    No,
    /// It commits it before it runs.
    Commits,
    /// It may commit it, depending on a value read only when it runs: the form.
    Unknown(String),
}

/// The lower-case words of `s` (letters, digits, `_`, `@`, `.`), in order.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@' || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Whether `piece` commits an open transaction implicitly. `autocommit`: the
/// session's autocommit is on (`SET autocommit = 1` commits only when it was off);
/// `locked`: the session holds LOCK TABLES (`UNLOCK TABLES` commits only then).
pub fn implicit(piece: &str, autocommit: bool, locked: bool) -> Implicit {
    let w = words(piece.trim_start_matches(|c: char| c == '(' || c.is_whitespace()));
    let at = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    let commits = |yes: bool| if yes { Implicit::Commits } else { Implicit::No };
    match at(0) {
        // `BEGIN NOT ATOMIC` (a compound statement) is refused by the guard.
        "begin" => Implicit::Commits,
        "start" => commits(matches!(at(1), "transaction" | "slave" | "replica" | "all")),
        "stop" => commits(matches!(at(1), "slave" | "replica" | "all")),
        "create" | "drop" => commits(!w.iter().take(4).any(|x| x == "temporary")),
        "alter" | "rename" | "truncate" | "grant" | "revoke" | "flush" | "install" | "uninstall" | "optimize"
        | "repair" | "analyze" | "check" | "reset" | "cache" => Implicit::Commits,
        "load" => commits(at(1) == "index"),
        "change" => commits(matches!(at(1), "master" | "replication")),
        "lock" => commits(matches!(at(1), "tables" | "table")),
        "unlock" => commits(locked && matches!(at(1), "tables" | "table")),
        "set" if at(1) == "password" => Implicit::Commits,
        "set" => autocommit_set(&w[1..], autocommit),
        _ => Implicit::No,
    }
}

/// `SET ... autocommit = v ...` (`@@autocommit`, `@@session.autocommit`,
/// `SESSION autocommit`, among other assignments): commits when it turns
/// autocommit on from off.
fn autocommit_set(w: &[String], autocommit: bool) -> Implicit {
    let names = [
        "autocommit",
        "@@autocommit",
        "@@session.autocommit",
        "@@local.autocommit",
    ];
    let Some(i) = w.iter().position(|x| names.contains(&x.as_str())) else {
        return Implicit::No;
    };
    if autocommit {
        // On already: setting it does not commit.
        return Implicit::No;
    }
    match w.get(i + 1).map(String::as_str) {
        Some("0" | "off" | "false") => Implicit::No,
        Some("1" | "on" | "true" | "default") => Implicit::Commits,
        _ => Implicit::Unknown("SET autocommit to a value read when it runs".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_that_commit_implicitly() {
        for s in [
            "BEGIN",
            "begin work",
            "START TRANSACTION READ ONLY",
            "CREATE TABLE t (a INT)",
            "DROP TABLE t",
            "ALTER TABLE p ADD COLUMN w INT",
            "TRUNCATE TABLE p",
            "RENAME TABLE a TO b",
            "LOCK TABLES p WRITE",
            "GRANT SELECT ON *.* TO u",
            "SET PASSWORD = PASSWORD('x')",
            "ANALYZE TABLE p",
            "LOAD INDEX INTO CACHE p",
        ] {
            assert_eq!(implicit(s, true, false), Implicit::Commits, "{s}");
        }
        for s in [
            "SELECT 1",
            "CREATE TEMPORARY TABLE t (a INT)",
            "DROP TEMPORARY TABLE IF EXISTS t",
            "UNLOCK TABLES",
            "SET autocommit = 1",
            "SET @x = 1",
            "INSERT INTO p VALUES (1)",
            "LOAD DATA INFILE 'f' INTO TABLE p",
        ] {
            assert_eq!(implicit(s, true, false), Implicit::No, "{s}");
        }
        assert_eq!(implicit("UNLOCK TABLES", true, true), Implicit::Commits);
        assert_eq!(implicit("SET autocommit = 1", false, false), Implicit::Commits);
        assert_eq!(implicit("SET @@session.autocommit=ON", false, false), Implicit::Commits);
        assert_eq!(
            implicit("SET sql_mode = '', autocommit = 0", false, false),
            Implicit::No
        );
        assert!(matches!(
            implicit("SET autocommit = @v", false, false),
            Implicit::Unknown(_)
        ));
    }
}
