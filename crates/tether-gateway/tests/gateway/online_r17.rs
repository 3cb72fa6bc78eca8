//! Review r17f of online ALTER, finding 1, as specifications: a transaction that opens
//! the table while the capture triggers are being created no longer fails the
//! migration at once. The three triggers are created under one table lock (the
//! transaction waits for all three, never sees one or two), and a transaction held
//! through every attempt fails the migration with an error naming that cause, with
//! no trigger left behind.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use tether_gateway::online::{Migrator, Settings, State};

use crate::online::{finished, loaded, runtime, triggers};
use crate::support::direct;

fn bounded(attempts: u32) -> Settings {
    Settings {
        cutover_lock_timeout: Duration::from_secs(1),
        cutover_attempts: attempts,
        cutover_retry_pause: Duration::from_millis(200),
        ..Settings::default()
    }
}

/// The reviewer's reproduction, on the server: wait (at most 30 s) until the first
/// capture trigger of `region` exists, then at once open a transaction on the table,
/// note how many capture triggers it finds, and keep it open for 3 s.
const OPEN_AFTER_FIRST_TRIGGER: &str = r"BEGIN NOT ATOMIC
  DECLARE n INT DEFAULT 0;
  DECLARE until DATETIME DEFAULT NOW() + INTERVAL 30 SECOND;
  WHILE n = 0 AND NOW() < until DO
    SELECT COUNT(*) INTO n FROM information_schema.TRIGGERS
     WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'region' AND TRIGGER_NAME LIKE '\_tether%';
  END WHILE;
  START TRANSACTION;
  SELECT COUNT(*) INTO n FROM region WHERE id = 1 FOR UPDATE;
  SELECT COUNT(*) INTO @seen FROM information_schema.TRIGGERS
   WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = 'region' AND TRIGGER_NAME LIKE '\_tether%';
  DO SLEEP(3);
  COMMIT;
END";

/// Before the fix the transaction got in after the first CREATE TRIGGER, the second
/// timed out, the retry's DROP TRIGGER timed out too and the migration failed at once
/// with "DROP TRIGGER IF EXISTS ...: ERROR 1205". Now the transaction waits for the
/// three triggers together and the migration completes.
#[test]
fn a_transaction_opened_as_the_triggers_are_created_does_not_fail_the_migration() {
    let db = loaded(20);
    let rt = runtime();
    let (done, seen) = rt.block_on(async {
        let m = Migrator::new("ks", &db.url, true, bounded(10)).expect("migrator");
        let mut holder = direct(&db).await;
        let held = tokio::spawn(async move {
            holder.query_drop(OPEN_AFTER_FIRST_TRIGGER).await.expect("held");
            let seen: Option<u64> = holder.query_first("SELECT @seen").await.expect("read");
            seen
        });
        // The holder is polling before the migration starts.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let id = m
            .submit("ALTER TABLE region ADD COLUMN code CHAR(2) NULL")
            .await
            .expect("accepted");
        let seen = held.await.expect("holder");
        (finished(&m, &id).await, seen)
    });
    assert_eq!((done.state, seen), (State::Complete, Some(3)), "{}", done.message);
    assert_eq!(
        db.query("SELECT * FROM region ORDER BY id"),
        vec![
            vec![Some("1".into()), Some("north".into()), None],
            vec![Some("2".into()), Some("south".into()), None]
        ]
    );
    assert_eq!(triggers(&db), Vec::<String>::new());
}

/// A transaction open through every attempt: the migration fails with the cause (a
/// transaction keeping the table open), not the statement that waited last, and no
/// capture trigger is left on the table.
#[test]
fn a_transaction_held_through_every_attempt_is_named_as_the_cause() {
    let db = loaded(20);
    let rt = runtime();
    let (failed, left) = rt.block_on(async {
        let m = Migrator::new("ks", &db.url, true, bounded(3)).expect("migrator");
        let mut open = direct(&db).await;
        open.query_drop("BEGIN").await.expect("begin");
        open.query_drop("SELECT COUNT(*) FROM region").await.expect("read");
        let id = m
            .submit("ALTER TABLE region ADD COLUMN code CHAR(2) NULL")
            .await
            .expect("accepted");
        let failed = finished(&m, &id).await;
        // Read while the transaction is still open.
        let left: Vec<String> = open
            .query("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()")
            .await
            .expect("read");
        open.query_drop("COMMIT").await.expect("commit");
        (failed, left)
    });
    assert_eq!(failed.state, State::Failed);
    assert_eq!(
        failed.message,
        "creating the capture triggers of `region`: a transaction kept the table open through 3 attempts: \
         ERROR 1205 (HY000): Lock wait timeout exceeded; try restarting transaction"
    );
    assert_eq!(left, Vec::<String>::new());
    assert_eq!(
        db.query("SELECT * FROM region ORDER BY id"),
        vec![
            vec![Some("1".into()), Some("north".into())],
            vec![Some("2".into()), Some("south".into())]
        ]
    );
}
