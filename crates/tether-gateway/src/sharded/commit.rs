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
        "create" | "drop" => commits(!super::guard::temporary_ddl(piece)),
        "alter" | "rename" | "truncate" | "grant" | "revoke" | "flush" | "install" | "uninstall" | "optimize"
        | "repair" | "analyze" | "check" | "reset" | "cache" => Implicit::Commits,
        "load" => commits(at(1) == "index"),
        "change" => commits(matches!(at(1), "master" | "replication")),
        "lock" => commits(matches!(at(1), "tables" | "table")),
        "unlock" => commits(locked && matches!(at(1), "tables" | "table")),
        "set" if at(1) == "password" => Implicit::Commits,
        "set" => autocommit_set(piece, autocommit),
        _ => Implicit::No,
    }
}

/// `SET ... autocommit = v ...` (`@@autocommit`, `@@session.autocommit`,
/// `SESSION autocommit`, among other assignments): commits when an assignment
/// turns autocommit on from off. Every assignment of the list is read in order
/// (`SET autocommit = 0, autocommit = 1` commits); a value that is not a lone
/// literal (`0 + 1`, `@v`, `0 IS NOT NULL`) is known only when it runs (review
/// r27c F4).
fn autocommit_set(piece: &str, autocommit: bool) -> Implicit {
    let unknown = || Implicit::Unknown("SET autocommit to a value read when it runs".to_string());
    let body = piece.trim_start_matches(|c: char| c == '(' || c.is_ascii_whitespace());
    let body = body.get(3..).unwrap_or("");
    // The session's autocommit before each assignment (`None`: not known).
    let mut state = Some(autocommit);
    let mut commits = false;
    // `SET GLOBAL a = 1, b = 2`: a bare name takes the last scope keyword.
    let mut global = false;
    for assignment in top_level(body, ',') {
        let Some(eq) = top_level_eq(assignment) else {
            continue;
        };
        let target: String = assignment[..eq]
            .trim_end_matches(':')
            .chars()
            .filter(|c| *c != '`' && !c.is_ascii_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        let value = assignment[eq + 1..].trim().to_ascii_lowercase();
        let name = if let Some(n) = target
            .strip_prefix("@@session.")
            .or_else(|| target.strip_prefix("@@local."))
        {
            n
        } else if target.starts_with("@@global.") {
            continue;
        } else if let Some(n) = target.strip_prefix("@@") {
            n
        } else if let Some(n) = target.strip_prefix("global") {
            global = true;
            n
        } else if let Some(n) = target.strip_prefix("session").or_else(|| target.strip_prefix("local")) {
            global = false;
            n
        } else {
            if global {
                continue;
            }
            target.as_str()
        };
        if name != "autocommit" || (global && !target.starts_with("@@")) {
            continue;
        }
        let v = match value.as_str() {
            "0" | "off" | "false" => Some(false),
            "1" | "on" | "true" | "default" => Some(true),
            _ => None,
        };
        match (state, v) {
            (Some(false), Some(true)) => commits = true,
            (Some(true), _) | (_, Some(false)) => {}
            // Off or not known, to a value read when it runs.
            _ => return unknown(),
        }
        state = v;
    }
    if commits {
        Implicit::Commits
    } else {
        Implicit::No
    }
}

/// The parts of `s` cut at `sep` outside strings, quoted names and parentheses.
fn top_level(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' | '`' => quote = Some(c),
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            c if c == sep && depth == 0 => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// The byte offset of the first `=` of `assignment` outside strings, quoted names
/// and parentheses.
fn top_level_eq(assignment: &str) -> Option<usize> {
    let first = top_level(assignment, '=').first().map(|p| p.len())?;
    (first < assignment.len()).then_some(first)
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
        // Every assignment, in order, and only a lone literal (review r27c F4).
        assert_eq!(
            implicit("SET autocommit = 0, autocommit = 1", false, false),
            Implicit::Commits
        );
        assert_eq!(
            implicit("SET autocommit = 0, @@session.autocommit = ON", false, false),
            Implicit::Commits
        );
        assert_eq!(
            implicit("SET autocommit = 0, autocommit = 1", true, false),
            Implicit::Commits
        );
        assert_eq!(
            implicit("SET autocommit = 1, autocommit = 0", true, false),
            Implicit::No
        );
        assert_eq!(implicit("SET GLOBAL autocommit = 1", false, false), Implicit::No);
        for s in [
            "SET autocommit = 0 + 1",
            "SET autocommit = 0 IS NOT NULL",
            "SET autocommit = 0, autocommit = @v",
        ] {
            assert!(matches!(implicit(s, false, false), Implicit::Unknown(_)), "{s}");
        }
        assert!(matches!(
            implicit("SET autocommit = 0, autocommit = 0 + 1", true, false),
            Implicit::Unknown(_)
        ));
        // A name `temporary` is not the keyword (review r27c F3).
        for s in [
            "CREATE USER `temporary`",
            "CREATE ROLE temporary",
            "CREATE TABLE `temporary` (a INT)",
            "DROP VIEW temporary",
            "CREATE DATABASE temporary",
        ] {
            assert_eq!(implicit(s, true, false), Implicit::Commits, "{s}");
        }
        assert_eq!(
            implicit("CREATE OR REPLACE TEMPORARY TABLE t (a INT)", true, false),
            Implicit::No
        );
    }
}
