//! Review r27b, as a specification (the scenario of `online_r26`: the RENAME waits
//! for a direct transaction on `p` while the gateway sessions send their writes).
//! The views and triggers below are created through the gateway after it started
//! (during the migration's copy, before its hold): a keyspace's schema was read
//! again after forwarded DDL only in managed mode, and the cut-over gate judged an
//! unmanaged keyspace's statements on the schema read at start.
//!
//! - F1: a transaction read a view calling a function that creates a temporary `p`
//!   (`vf1`), then `p` (the temporary table), then a view dropping it: its DELETE
//!   of `p` was exempt (the record said `p` was opened) and ran in the cut-over's
//!   gap: an orphan. Now the schema is read again after the CREATE VIEW, the view
//!   read raises the doubt, the DELETE waits and gets 1451.
//! - F2: an autocommit INSERT into a table whose trigger (created through the
//!   gateway) deletes a `p` row passed the hold: an orphan. Now it waits (a write
//!   naming a table with triggers) and gets 1451; in a managed keyspace's
//!   transaction it is refused at once (1205), nothing run.
//! - F2's variant: a DELETE through a view over `p` created through the gateway
//!   passed the hold. Now it waits and gets 1451.
//! - F3 (managed: the exempt write read the schema in the gap and got a misleading
//!   1105) is F1's scenario in a managed keyspace: the DELETE waits, then 1451.

use crate::online_r26::{assert_complete, assert_held_then_refused, databases, scenario, session, Stop};

/// The views of F1, created through the gateway.
const VIEWS: [&str; 2] = [
    "CREATE VIEW vf1 AS SELECT f1() AS a",
    "CREATE VIEW vf2 AS SELECT f2() AS a",
];

/// F1's sessions: one creates the views (its autocommit DELETE is the control),
/// the other reads them around `p` in a transaction.
fn f1_sessions() -> Vec<crate::online_r26::Session> {
    vec![
        session("ks", &VIEWS, "DELETE FROM p WHERE id = 5"),
        session(
            "ks",
            &["BEGIN", "SELECT * FROM vf1", "SELECT * FROM p", "SELECT * FROM vf2"],
            "DELETE FROM p WHERE id = 16",
        ),
    ]
}

/// The table `y` whose trigger deletes the `p` row of its id, created through
/// the gateway.
const TRIGGERED: [&str; 2] = [
    "CREATE TABLE y (id INT PRIMARY KEY) ENGINE=InnoDB",
    "CREATE TRIGGER ty AFTER INSERT ON y FOR EACH ROW DELETE FROM p WHERE id = NEW.id",
];

/// F1, unmanaged: the DELETE of the transaction that read the views waits for the
/// hold and is refused as natively; no orphan.
#[test]
fn unmanaged_views_created_through_the_gateway_do_not_exempt_a_write() {
    let dbs = databases();
    let sessions = f1_sessions();
    let seen = scenario(&dbs, "unmanaged", &sessions, Stop::None, false);
    assert_held_then_refused(&sessions, &seen);
    assert_complete(&dbs.db, &seen);
}

/// F3: the same in a managed keyspace: held, then 1451 (never a 1105 about
/// `_p_old_<id>`).
#[test]
fn managed_views_created_through_the_gateway_do_not_exempt_a_write() {
    let dbs = databases();
    let sessions = f1_sessions();
    let seen = scenario(&dbs, "managed", &sessions, Stop::None, false);
    assert_held_then_refused(&sessions, &seen);
    assert_complete(&dbs.db, &seen);
}

/// F2 and its view variant, unmanaged: an autocommit INSERT whose new trigger
/// deletes `p` row 16, and a DELETE through a new view over `p`, wait for the hold
/// and get 1451; no orphan.
#[test]
fn unmanaged_writes_through_new_triggers_and_views_are_held() {
    let dbs = databases();
    let sessions = vec![
        session("ks", &TRIGGERED, "INSERT INTO y VALUES (16)"),
        session(
            "ks",
            &["CREATE VIEW vq AS SELECT * FROM p"],
            "DELETE FROM vq WHERE id = 17",
        ),
    ];
    let seen = scenario(&dbs, "unmanaged", &sessions, Stop::None, false);
    assert_held_then_refused(&sessions, &seen);
    // Every `p` row is there (`assert_complete` counts 60000): row 16 too.
    assert_complete(&dbs.db, &seen);
}

/// F2, managed, inside a transaction: the INSERT into the table whose trigger
/// (created through the gateway) writes `p` is refused at once with 1205 (the
/// gateway cannot see which tables it reaches; the transaction may hold what the
/// RENAME waits for); nothing of it ran, no orphan.
#[test]
fn managed_transaction_writes_through_a_new_trigger_are_refused_while_held() {
    let dbs = databases();
    let prepare: Vec<&str> = TRIGGERED.iter().copied().chain(["BEGIN"]).collect();
    let sessions = vec![session("ks", &prepare, "INSERT INTO y VALUES (16)")];
    let seen = scenario(&dbs, "managed", &sessions, Stop::None, false);
    assert_eq!(seen.finished, vec![true], "refused at once: {:?}", seen.outcomes);
    match &seen.outcomes[0] {
        Err((1205, message)) => assert!(message.contains("a write naming `y`, which has triggers"), "{message}"),
        other => panic!("expected 1205: {other:?}"),
    }
    assert_complete(&dbs.db, &seen);
}

/// Views made on the server out of the gateway's sight: by a procedure, whose
/// CALL the gateway forwards without reading the schema again (as DDL of another
/// client sent to MariaDB directly). The keyspace reads its schema again when the
/// cut-over's hold begins, before the RENAME: the autocommit DELETE through the new
/// view over `p` waits, and the transaction that read `vf1` around the temporary
/// `p` (its record names a view unknown when it ran) is not exempt: both wait and
/// get 1451 (or 1412), no orphan.
#[test]
fn unmanaged_views_created_out_of_sight_are_read_when_the_hold_begins() {
    let dbs = databases();
    dbs.db.exec(
        "CREATE PROCEDURE mkv() BEGIN
           CREATE VIEW vf1 AS SELECT f1() AS a;
           CREATE VIEW vf2 AS SELECT f2() AS a;
           CREATE VIEW vq AS SELECT * FROM p;
         END;",
    );
    let sessions = vec![
        session("ks", &["CALL mkv()"], "DELETE FROM vq WHERE id = 17"),
        session(
            "ks",
            &["BEGIN", "SELECT * FROM vf1", "SELECT * FROM p", "SELECT * FROM vf2"],
            "DELETE FROM p WHERE id = 16",
        ),
    ];
    let seen = scenario(&dbs, "unmanaged", &sessions, Stop::None, false);
    assert_held_then_refused(&sessions, &seen);
    assert_complete(&dbs.db, &seen);
}
