//! The statements of online schema changes, recognised from their text (sqlparser
//! knows none of them): `SET @@ddl_strategy = 'online'|'vitess'|'direct'`,
//! `SHOW VITESS_MIGRATIONS [LIKE 'pattern']`, `ALTER VITESS_MIGRATION 'id' CANCEL|RETRY`,
//! `ALTER VITESS_MIGRATION CANCEL ALL`, and `EXPLAIN FK ALTER TABLE ...`.

/// How DDL runs in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DdlStrategy {
    /// Forwarded to the backend as today.
    #[default]
    Direct,
    /// `online` (or Vitess's `vitess`): ALTER TABLE becomes a migration.
    Online,
}

/// What a migration is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MigrationAction {
    Cancel,
    Retry,
}

/// One recognised statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnlineStatement {
    SetDdlStrategy(DdlStrategy),
    ShowMigrations {
        like: Option<String>,
    },
    AlterMigration {
        id: String,
        action: MigrationAction,
    },
    CancelAll,
    /// `EXPLAIN FK ALTER TABLE ...`: the ALTER's text.
    Explain(String),
}

/// Recognises `sql`: `Ok(None)` when it is none of these statements, `Err` with a
/// message when it is one of them written wrongly.
pub fn recognise(sql: &str) -> Result<Option<OnlineStatement>, String> {
    let words = tokens(sql);
    let w: Vec<String> = words.iter().map(|t| t.to_ascii_lowercase()).collect();
    let at = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    match (at(0), at(1)) {
        ("set", _) => {
            let mut i = 1;
            if matches!(at(i), "session" | "@@session") {
                i += 1;
            }
            let var = at(i).trim_start_matches("@@").trim_start_matches("session.");
            if var != "ddl_strategy" {
                return Ok(None);
            }
            if !matches!(at(i + 1), "=" | ":=") {
                return Err("SET ddl_strategy: expected `= 'online'`".into());
            }
            let value = words.get(i + 2).map(|v| unquote(v)).unwrap_or_default();
            if words.len() > i + 3 {
                return Err("SET ddl_strategy: one value only".into());
            }
            let mut parts = value.split_whitespace();
            let strategy = match parts.next().map(|s| s.to_ascii_lowercase()).as_deref() {
                Some("online") | Some("vitess") => DdlStrategy::Online,
                Some("direct") | Some("") | None => DdlStrategy::Direct,
                Some(other) => {
                    return Err(format!(
                        "ddl_strategy '{other}' is not supported: use 'online' (or 'vitess') or 'direct'"
                    ))
                }
            };
            if let Some(flag) = parts.next() {
                return Err(format!("ddl_strategy flag `{flag}` is not supported"));
            }
            Ok(Some(OnlineStatement::SetDdlStrategy(strategy)))
        }
        ("show", "vitess_migrations") => match (at(2), words.get(3)) {
            ("", _) => Ok(Some(OnlineStatement::ShowMigrations { like: None })),
            ("like", Some(p)) if words.len() == 4 => {
                Ok(Some(OnlineStatement::ShowMigrations { like: Some(unquote(p)) }))
            }
            _ => Err("SHOW VITESS_MIGRATIONS: expected nothing or LIKE 'pattern'".into()),
        },
        ("alter", "vitess_migration") => {
            if at(2) == "cancel" && at(3) == "all" && words.len() == 4 {
                return Ok(Some(OnlineStatement::CancelAll));
            }
            let id = words.get(2).map(|v| unquote(v)).unwrap_or_default();
            let action = match (at(3), words.len()) {
                ("cancel", 4) => MigrationAction::Cancel,
                ("retry", 4) => MigrationAction::Retry,
                _ => return Err("ALTER VITESS_MIGRATION: expected 'id' CANCEL|RETRY or CANCEL ALL".into()),
            };
            if id.is_empty() {
                return Err("ALTER VITESS_MIGRATION: the migration id is missing".into());
            }
            Ok(Some(OnlineStatement::AlterMigration { id, action }))
        }
        ("explain", "fk") if at(2) == "alter" && at(3) == "table" => {
            let lower = sql.to_ascii_lowercase();
            let start = lower.find("alter").unwrap_or(0);
            Ok(Some(OnlineStatement::Explain(
                sql[start..].trim().trim_end_matches(';').trim().to_string(),
            )))
        }
        _ => Ok(None),
    }
}

/// True for `ALTER [ONLINE] [IGNORE] TABLE ...` (what an online strategy turns into a
/// migration, or refuses: never a direct ALTER the client did not ask for).
pub fn is_alter_table(sql: &str) -> bool {
    let w = tokens(sql);
    if w.first().is_none_or(|a| !a.eq_ignore_ascii_case("alter")) {
        return false;
    }
    w.iter()
        .skip(1)
        .find(|t| !t.eq_ignore_ascii_case("online") && !t.eq_ignore_ascii_case("ignore"))
        .is_some_and(|t| t.eq_ignore_ascii_case("table"))
}

/// Words, quoted strings (quotes kept) and `=`/`:=`; comments and a final `;` dropped.
fn tokens(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == ';' {
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') || c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' || c == '`' {
            let mut s = String::from(c);
            i += 1;
            while i < chars.len() {
                if chars[i] == '\\' && c != '`' && i + 1 < chars.len() {
                    s.push(chars[i]);
                    s.push(chars[i + 1]);
                    i += 2;
                    continue;
                }
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        s.push(c);
                        s.push(c);
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(chars[i]);
                i += 1;
            }
            s.push(c);
            i += 1;
            out.push(s);
        } else if c == '=' {
            out.push("=".into());
            i += 1;
        } else if c == ':' && chars.get(i + 1) == Some(&'=') {
            out.push(":=".into());
            i += 2;
        } else {
            let mut s = String::new();
            while i < chars.len() {
                let d = chars[i];
                if d.is_whitespace() || d == ';' || d == '=' || d == '\'' || d == '"' || d == '`' {
                    break;
                }
                s.push(d);
                i += 1;
            }
            out.push(s);
        }
    }
    out
}

/// A quoted token's text (doubled quotes and backslash escapes undone); others as is.
fn unquote(t: &str) -> String {
    let Some(q) = t.chars().next().filter(|c| matches!(c, '\'' | '"' | '`')) else {
        return t.to_string();
    };
    let inner = &t[1..t.len().saturating_sub(1).max(1)];
    let mut s = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && q != '`' {
            if let Some(n) = chars.next() {
                s.push(n);
            }
        } else if c == q && chars.peek() == Some(&q) {
            chars.next();
            s.push(q);
        } else {
            s.push(c);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(sql: &str) -> Option<OnlineStatement> {
        recognise(sql).expect("recognised")
    }

    #[test]
    fn ddl_strategy() {
        use DdlStrategy::*;
        use OnlineStatement::SetDdlStrategy as S;
        assert_eq!(ok("SET @@ddl_strategy = 'online'"), Some(S(Online)));
        assert_eq!(ok("set @@session.ddl_strategy='vitess';"), Some(S(Online)));
        assert_eq!(ok("SET SESSION ddl_strategy = \"direct\""), Some(S(Direct)));
        assert_eq!(ok("SET ddl_strategy='ONLINE'"), Some(S(Online)));
        assert_eq!(ok("SET @@autocommit = 1"), None);
        assert_eq!(ok("SET NAMES utf8mb4"), None);
        assert!(recognise("SET @@ddl_strategy = 'gh-ost'").is_err());
        assert!(recognise("SET @@ddl_strategy = 'vitess --postpone-completion'").is_err());
    }

    #[test]
    fn migrations() {
        use MigrationAction::*;
        assert_eq!(
            ok("SHOW VITESS_MIGRATIONS"),
            Some(OnlineStatement::ShowMigrations { like: None })
        );
        assert_eq!(
            ok("show vitess_migrations like 'ab%'"),
            Some(OnlineStatement::ShowMigrations {
                like: Some("ab%".into())
            })
        );
        assert_eq!(
            ok("ALTER VITESS_MIGRATION 'a1_b2' CANCEL"),
            Some(OnlineStatement::AlterMigration {
                id: "a1_b2".into(),
                action: Cancel
            })
        );
        assert_eq!(
            ok("alter vitess_migration \"a1\" retry;"),
            Some(OnlineStatement::AlterMigration {
                id: "a1".into(),
                action: Retry
            })
        );
        assert_eq!(
            ok("ALTER VITESS_MIGRATION CANCEL ALL"),
            Some(OnlineStatement::CancelAll)
        );
        assert!(recognise("ALTER VITESS_MIGRATION 'a1' COMPLETE").is_err());
        assert_eq!(ok("ALTER TABLE t ADD x INT"), None);
        assert!(is_alter_table("  alter /* c */ TABLE t ADD x INT"));
        assert!(!is_alter_table("ALTER VITESS_MIGRATION 'a' CANCEL"));
        assert!(is_alter_table("ALTER ONLINE TABLE t ADD x INT"));
        assert!(is_alter_table("alter ignore table t ADD UNIQUE (x)"));
        assert!(is_alter_table("ALTER ONLINE IGNORE TABLE t ADD UNIQUE (x)"));
        assert!(!is_alter_table("ALTER ONLINE VIEW v AS SELECT 1"));
    }

    #[test]
    fn explain_of_an_alter() {
        assert_eq!(
            ok("EXPLAIN FK ALTER TABLE customer MODIFY id BIGINT;"),
            Some(OnlineStatement::Explain("ALTER TABLE customer MODIFY id BIGINT".into()))
        );
        assert_eq!(ok("EXPLAIN FK DELETE FROM customer"), None);
    }
}
