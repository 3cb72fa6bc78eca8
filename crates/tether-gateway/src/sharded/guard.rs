//! What a managed sharded keyspace lets through. The head enforces no FK (its Spider
//! tables have none), so a statement the gateway does not plan or know to be a read
//! or a session statement is refused (issue 16, review finding 1): the query is cut
//! into statements (strings, quoted names and comments respected; executable
//! comments `/*! ... */` read as the text they hold), and each one is classified.

/// One statement of a query, as [`statements`] gives it: plain comments dropped,
/// executable comments unwrapped, trimmed, without its `;`.
pub type Piece = String;

/// The statements of `sql`: cut at `;` outside strings, quoted names and comments;
/// plain comments become a space; `/*!NNNNN ... */` and `/*M!NNNNN ... */` become the
/// text they hold (MariaDB runs it). Empty statements are left out.
pub fn statements(sql: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = sql.chars().peekable();
    // Inside an executable comment: its closing `*/` is dropped.
    let mut executable = false;
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                cur.push(c);
                while let Some(d) = chars.next() {
                    cur.push(d);
                    if d == '\\' && c != '`' {
                        if let Some(e) = chars.next() {
                            cur.push(e);
                        }
                    } else if d == c {
                        if chars.peek() == Some(&c) {
                            cur.push(chars.next().expect("peeked"));
                        } else {
                            break;
                        }
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut rest = chars.clone();
                let exec = match rest.next() {
                    Some('!') => true,
                    Some('M') => rest.next() == Some('!'),
                    _ => false,
                };
                if exec && !executable {
                    // Skip `!` or `M!` and the version digits.
                    if chars.next() == Some('M') {
                        chars.next();
                    }
                    while chars.peek().is_some_and(char::is_ascii_digit) {
                        chars.next();
                    }
                    executable = true;
                    cur.push(' ');
                } else {
                    let mut prev = ' ';
                    for d in chars.by_ref() {
                        if prev == '*' && d == '/' {
                            break;
                        }
                        prev = d;
                    }
                    cur.push(' ');
                }
            }
            '*' if executable && chars.peek() == Some(&'/') => {
                chars.next();
                executable = false;
                cur.push(' ');
            }
            '#' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                cur.push(' ');
            }
            '-' if chars.peek() == Some(&'-') && {
                let mut rest = chars.clone();
                rest.next();
                rest.next().is_none_or(char::is_whitespace)
            } =>
            {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
                cur.push(' ');
            }
            ';' => {
                let s = cur.trim();
                if !s.is_empty() {
                    out.push(s.to_string());
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    let s = cur.trim();
    if !s.is_empty() {
        out.push(s.to_string());
    }
    out
}

/// What one statement is, for a managed sharded keyspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A read or a session statement: forwarded.
    Read,
    /// INSERT, UPDATE, DELETE or REPLACE: planned.
    Write,
    /// CREATE, ALTER, DROP, RENAME, TRUNCATE: looked at by [`ddl_refusal`].
    Ddl,
    /// Anything else: refused; the form, for the error.
    Refused(String),
}

/// The lower-case words of `s` (letters, digits, `_`), in order.
fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@' || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// Classifies one statement of [`statements`].
pub fn kind(piece: &str) -> Kind {
    let w = words(piece.trim_start_matches(|c: char| c == '(' || c.is_whitespace()));
    let first = w.first().map(String::as_str).unwrap_or("");
    let second = w.get(1).map(String::as_str).unwrap_or("");
    let refused = |form: &str| Kind::Refused(form.to_string());
    match first {
        "insert" | "update" | "delete" | "replace" => Kind::Write,
        "create" | "alter" | "drop" | "rename" | "truncate" => Kind::Ddl,
        "select" | "with" | "values" => {
            if w.iter().any(|x| x == "outfile" || x == "dumpfile") {
                refused("SELECT ... INTO OUTFILE / DUMPFILE")
            } else {
                Kind::Read
            }
        }
        "explain" | "describe" | "desc" => {
            if second == "analyze" || second == "analyse" {
                refused("EXPLAIN ANALYZE (it runs the statement)")
            } else {
                Kind::Read
            }
        }
        "show" | "help" | "use" | "do" | "commit" | "rollback" | "savepoint" | "release" | "unlock" | "lock"
        | "checksum" | "kill" | "deallocate" => Kind::Read,
        "start" if second == "transaction" => Kind::Read,
        "begin" if w.len() == 1 || (w.len() == 2 && second == "work") => Kind::Read,
        "begin" => refused("a compound statement (BEGIN NOT ATOMIC ... END)"),
        "set" if second == "statement" => refused("SET STATEMENT ... FOR"),
        "set" if second == "global" || piece.to_ascii_lowercase().contains("@@global.") => refused("SET GLOBAL"),
        "set" => Kind::Read,
        "xa" => refused(
            "an XA transaction of the client (the gateway cannot roll back part of one: a refused statement \
             would leave half its writes to XA COMMIT)",
        ),
        "prepare" | "execute" => refused("PREPARE / EXECUTE in SQL (the gateway cannot read the statement run)"),
        "call" => refused("CALL (a stored procedure's writes are not planned)"),
        "load" => refused("LOAD DATA / LOAD XML"),
        "" => refused("a statement the gateway cannot read"),
        other => Kind::Refused(format!("`{}`", other.to_ascii_uppercase())),
    }
}

/// The objects of CREATE that the gateway would not see act: their writes are
/// not planned.
const HIDDEN_WRITERS: &[&str] = &["trigger", "view", "procedure", "function", "event", "package"];

/// The object CREATE / ALTER / DROP names: its first word among the object kinds.
fn object_kind(w: &[String]) -> Option<&str> {
    const KINDS: &[&str] = &[
        "table",
        "tables",
        "index",
        "database",
        "schema",
        "trigger",
        "view",
        "procedure",
        "function",
        "event",
        "package",
        "sequence",
        "user",
        "role",
        "server",
    ];
    w.iter().map(String::as_str).find(|x| KINDS.contains(x))
}

/// Why DDL `piece` is refused in a managed sharded keyspace, if it is: DROP,
/// TRUNCATE or RENAME of a table of the FK graph (`fk_tables`; native InnoDB
/// refuses a referenced one with 1451 / 1701, the nodes cannot); ALTER ... RENAME
/// naming a table of the keyspace; CREATE of a
/// trigger, view, routine or event (their writes are not planned); CREATE
/// TEMPORARY TABLE named like a table of the keyspace (`tables`): the session's
/// writes naming it would get the real table's FK work.
pub fn ddl_refusal(piece: &str, fk_tables: &[String], tables: &[String]) -> Option<String> {
    let w = words(piece);
    let first = w.first().map(String::as_str).unwrap_or("");
    let temporary = w.get(1).is_some_and(|x| x == "temporary") || w.get(2).is_some_and(|x| x == "temporary");
    let names = |list: &[String]| {
        list.iter()
            .find(|t| {
                w.iter()
                    .any(|x| x.rsplit('.').next() == Some(t.to_ascii_lowercase().as_str()))
            })
            .cloned()
    };
    match first {
        "drop" | "truncate" | "rename" => {
            if first == "drop" && (temporary || object_kind(&w).is_some_and(|k| k != "table" && k != "tables")) {
                return None;
            }
            names(fk_tables).map(|t| {
                format!(
                    "{} of `{t}`, a table of the keyspace's foreign keys (InnoDB would refuse it or follow it; \
                     the nodes cannot)",
                    first.to_ascii_uppercase()
                )
            })
        }
        // A table of the FK graph renamed (the VSchema's FKs name it), or any table
        // renamed onto a keyspace table's name (a temporary table shadowing it).
        "alter" if w.iter().any(|x| x == "rename") => names(tables)
            .map(|t| format!("ALTER ... RENAME naming `{t}`, a table of the keyspace (its FKs are declared by name)")),
        "create" => match object_kind(&w) {
            Some(k) if HIDDEN_WRITERS.contains(&k) => Some(format!(
                "CREATE {} (its writes would not be planned)",
                k.to_ascii_uppercase()
            )),
            Some("table") if temporary => {
                let pos = w.iter().position(|x| x == "table")?;
                let mut rest = w[pos + 1..].iter().map(String::as_str);
                let mut name = rest.next()?;
                if name == "if" {
                    // IF NOT EXISTS
                    name = rest.nth(2)?;
                }
                let name = name.rsplit('.').next().unwrap_or(name);
                tables.iter().find(|t| t.eq_ignore_ascii_case(name)).map(|t| {
                    format!(
                        "CREATE TEMPORARY TABLE `{t}`, named like a table of the keyspace (its writes would get \
                         the real table's FK work)"
                    )
                })
            }
            _ => None,
        },
        _ => None,
    }
}

/// The table a `CREATE TEMPORARY TABLE` statement creates (lower case), if it is one.
pub fn temporary_created(piece: &str) -> Option<String> {
    let w = words(piece);
    if w.first().map(String::as_str) != Some("create") || !w.iter().take(4).any(|x| x == "temporary") {
        return None;
    }
    let pos = w.iter().position(|x| x == "table")?;
    let mut rest = w[pos + 1..].iter();
    let mut name = rest.next()?;
    if name == "if" {
        name = rest.nth(2)?;
    }
    Some(name.rsplit('.').next().unwrap_or(name).to_string())
}

/// The tables a `DROP [TEMPORARY] TABLE` statement names (lower case).
pub fn tables_dropped(piece: &str) -> Vec<String> {
    let w = words(piece);
    if w.first().map(String::as_str) != Some("drop") {
        return Vec::new();
    }
    let Some(pos) = w.iter().position(|x| x == "table" || x == "tables") else {
        return Vec::new();
    };
    w[pos + 1..]
        .iter()
        .filter(|x| !matches!(x.as_str(), "if" | "exists" | "restrict" | "cascade"))
        .map(|x| x.rsplit('.').next().unwrap_or(x).to_string())
        .collect()
}

/// `sql` without the modifiers that change nothing for InnoDB or Spider tables
/// (`DELETE LOW_PRIORITY QUICK`, `UPDATE LOW_PRIORITY`), which the planner cannot
/// read; any other text as it is.
pub fn without_modifiers(sql: &str) -> std::borrow::Cow<'_, str> {
    let mut rest = sql.trim_start();
    let Some(first) = rest.split_whitespace().next() else {
        return sql.into();
    };
    let lower = first.to_ascii_lowercase();
    if lower != "delete" && lower != "update" {
        return sql.into();
    }
    rest = rest[first.len()..].trim_start();
    let mut dropped = false;
    loop {
        let word = rest.split_whitespace().next().unwrap_or("");
        let w = word.to_ascii_lowercase();
        if w == "low_priority" || (w == "quick" && lower == "delete") {
            rest = rest[word.len()..].trim_start();
            dropped = true;
        } else {
            break;
        }
    }
    match dropped {
        true => format!("{first} {rest}").into(),
        false => sql.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_cut_outside_strings_and_comments() {
        assert_eq!(statements("SELECT 1; DELETE FROM t"), ["SELECT 1", "DELETE FROM t"]);
        assert_eq!(statements("SELECT ';' ; "), ["SELECT ';'"]);
        assert_eq!(statements("/* c; */ DELETE FROM t"), ["DELETE FROM t"]);
        assert_eq!(statements("-- c\nDELETE FROM t"), ["DELETE FROM t"]);
        assert_eq!(statements("# c\nDELETE FROM t"), ["DELETE FROM t"]);
        assert_eq!(statements("/*! DELETE FROM t */"), ["DELETE FROM t"]);
        assert_eq!(statements("/*!40101 SET NAMES utf8 */"), ["SET NAMES utf8"]);
        assert_eq!(statements("SELECT `a;b`, \"x\\\";\""), ["SELECT `a;b`, \"x\\\";\""]);
        assert_eq!(statements("SELECT 1--1"), ["SELECT 1--1"]);
    }

    #[test]
    fn only_reads_session_statements_writes_and_ddl_pass() {
        for read in [
            "SELECT 1",
            "show tables",
            "SET autocommit = 0",
            "BEGIN",
            "begin work",
            "START TRANSACTION READ ONLY",
            "COMMIT",
            "EXPLAIN SELECT 1",
            "(SELECT 1) UNION (SELECT 2)",
        ] {
            assert_eq!(kind(read), Kind::Read, "{read}");
        }
        for refused in [
            "BEGIN NOT ATOMIC INSERT INTO t VALUES (1); END",
            "SET STATEMENT max_statement_time = 100 FOR DELETE FROM t",
            "PREPARE s FROM 'DELETE FROM t'",
            "EXECUTE IMMEDIATE 'DELETE FROM t'",
            "CALL p()",
            "XA START 'x'",
            "LOAD DATA INFILE 'f' INTO TABLE t",
            "SELECT * FROM t INTO OUTFILE '/tmp/x'",
            "HANDLER t OPEN",
        ] {
            assert!(matches!(kind(refused), Kind::Refused(_)), "{refused}");
        }
        assert_eq!(kind("delete from t"), Kind::Write);
        assert_eq!(kind("TRUNCATE t"), Kind::Ddl);
    }

    #[test]
    fn modifiers_that_change_nothing_are_dropped() {
        assert_eq!(without_modifiers("DELETE QUICK LOW_PRIORITY FROM t"), "DELETE FROM t");
        assert_eq!(
            without_modifiers("update low_priority t SET a = 1"),
            "update t SET a = 1"
        );
        assert_eq!(without_modifiers("DELETE IGNORE FROM t"), "DELETE IGNORE FROM t");
        assert_eq!(without_modifiers("UPDATE quick SET a = 1"), "UPDATE quick SET a = 1");
    }

    #[test]
    fn ddl_on_the_fk_graph_and_hidden_writers_are_refused() {
        let fk = vec!["item".to_string()];
        let all = vec!["item".to_string(), "log".to_string()];
        assert!(ddl_refusal("TRUNCATE TABLE item", &fk, &all).is_some());
        assert!(ddl_refusal("DROP TABLE IF EXISTS ks.item", &fk, &all).is_some());
        assert!(ddl_refusal("RENAME TABLE item TO x", &fk, &all).is_some());
        assert!(ddl_refusal("DROP TABLE log", &fk, &all).is_none());
        assert!(ddl_refusal("DROP TEMPORARY TABLE item", &fk, &all).is_none());
        assert!(ddl_refusal("DROP VIEW item_v", &fk, &all).is_none());
        assert!(ddl_refusal("ALTER TABLE item RENAME TO item_old", &fk, &all).is_some());
        assert!(ddl_refusal("ALTER TABLE scratch RENAME TO log", &fk, &all).is_some());
        assert!(ddl_refusal("ALTER TABLE item ADD COLUMN note INT", &fk, &all).is_none());
        assert!(ddl_refusal("CREATE OR REPLACE VIEW v AS SELECT 1", &fk, &all).is_some());
        assert!(ddl_refusal("CREATE DEFINER=`a`@`%` TRIGGER tr AFTER INSERT ON log", &fk, &all).is_some());
        assert!(ddl_refusal("CREATE TEMPORARY TABLE log (id INT)", &fk, &all).is_some());
        assert!(ddl_refusal("CREATE TEMPORARY TABLE scratch (id INT)", &fk, &all).is_none());
        assert!(ddl_refusal("CREATE TABLE t (trigger_at INT)", &fk, &all).is_none());
        assert_eq!(
            temporary_created("create temporary table if not exists Item (id int)").as_deref(),
            Some("item")
        );
        assert_eq!(tables_dropped("DROP TEMPORARY TABLE IF EXISTS a, b"), ["a", "b"]);
    }
}
