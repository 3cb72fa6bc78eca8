//! The session's side, ready to call: the answer to each recognised statement
//! ([`super::statements`]) and to an `ALTER TABLE` under the online strategy, as the
//! gateway's [`Reply`] values. A session keeps its [`DdlStrategy`] and calls
//! [`answer`]; for `ALTER TABLE` with [`DdlStrategy::Online`] it calls [`submit`].

use crate::wire::value::Value;

use super::statements::{DdlStrategy, MigrationAction, OnlineStatement};
use super::{show_rows, Migrator, SHOW_COLUMNS};
use crate::reply::{ColumnDef, OkInfo, Reply};

/// Answers one recognised statement; `strategy` is the session's.
pub async fn answer(migrator: &Migrator, statement: OnlineStatement, strategy: &mut DdlStrategy) -> Reply {
    let outcome = match statement {
        OnlineStatement::SetDdlStrategy(s) => {
            *strategy = s;
            Ok(Reply::ok())
        }
        OnlineStatement::ShowMigrations { like } => migrator
            .list()
            .await
            .map(|list| rows(&SHOW_COLUMNS, show_rows(&list, like.as_deref()))),
        OnlineStatement::AlterMigration { id, action } => match action {
            MigrationAction::Cancel => migrator.cancel(&id).await,
            MigrationAction::Retry => migrator.retry(&id).await,
        }
        .map(|()| Reply::ok()),
        OnlineStatement::CancelAll => migrator.cancel_all().await.map(|n| {
            Reply::Ok(OkInfo {
                affected_rows: n as u64,
                ..OkInfo::default()
            })
        }),
        OnlineStatement::Explain(alter) => migrator
            .explain(&alter)
            .await
            .map(|text| Reply::text_rows("EXPLAIN FK", text.lines().map(str::to_string))),
    };
    outcome.unwrap_or_else(|e| Reply::Error(e.to_server_error()))
}

/// Submits an online `ALTER TABLE`: a one-row result set with the migration id (column
/// `uuid`, as Vitess answers), or the refusal.
pub async fn submit(migrator: &Migrator, alter_sql: &str) -> Reply {
    match migrator.submit(alter_sql).await {
        Ok(id) => rows(&["uuid"], vec![vec![Some(id)]]),
        Err(e) => Reply::Error(e.to_server_error()),
    }
}

/// A result set of text columns.
fn rows(columns: &[&str], rows: Vec<Vec<Option<String>>>) -> Reply {
    Reply::Rows {
        columns: columns
            .iter()
            .map(|name| ColumnDef {
                name: name.to_string(),
                charset: 45, // utf8mb4_general_ci
                length: 1024,
                column_type: 253, // VAR_STRING
                decimals: 39,
                ..ColumnDef::default()
            })
            .collect(),
        rows: rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| v.map(|s| Value::Bytes(s.into_bytes())).unwrap_or(Value::Null))
                    .collect()
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::online::{statements::recognise, Settings};
    use tether_testkit::{TestDb, TestEngine};

    fn recognised(sql: &str) -> OnlineStatement {
        recognise(sql).expect("valid").expect("recognised")
    }

    #[test]
    fn a_session_submits_lists_and_cancels() {
        let db = TestDb::create(TestEngine::Mysql);
        db.exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2);");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let m = Migrator::new("ks", &db.url, true, Settings::default()).expect("migrator");
            let mut strategy = DdlStrategy::Direct;
            let set = answer(&m, recognised("SET @@ddl_strategy = 'vitess'"), &mut strategy).await;
            assert_eq!((set, strategy), (Reply::ok(), DdlStrategy::Online));
            let Reply::Rows { columns, rows } = submit(&m, "ALTER TABLE t ADD COLUMN v INT").await else {
                panic!("a result set");
            };
            assert_eq!(columns[0].name, "uuid");
            let Value::Bytes(id) = &rows[0][0] else { panic!("an id") };
            let id = String::from_utf8(id.clone()).expect("text");
            m.wait(&id, std::time::Duration::from_secs(60)).await.expect("done");
            let Reply::Rows { columns, rows } = answer(&m, recognised("SHOW VITESS_MIGRATIONS"), &mut strategy).await
            else {
                panic!("a result set");
            };
            assert_eq!(columns.len(), SHOW_COLUMNS.len());
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0][5], Value::Bytes(b"complete".to_vec()));
            let cancel = answer(
                &m,
                recognised(&format!("ALTER VITESS_MIGRATION '{id}' CANCEL")),
                &mut strategy,
            )
            .await;
            let Reply::Error(e) = cancel else { panic!("refused") };
            assert_eq!(
                (e.code, e.message),
                (1105, format!("migration '{id}' is complete: cannot cancel"))
            );
            let refused = submit(&m, "ALTER TABLE nope ADD COLUMN v INT").await;
            assert_eq!(
                refused,
                Reply::Error(crate::reply::ServerError::gateway(
                    "online ALTER of `nope` refused: no such table in the keyspace"
                ))
            );
        });
    }
}
