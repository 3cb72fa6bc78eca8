//! Review r26j, as a specification (the scenario of `online_r26`: the RENAME waits
//! for a direct transaction on `p` while the gateway sessions send their writes).
//!
//! - F2: a read of a view whose definition calls a stored function creating (or
//!   dropping) a temporary table `p` made the record count `SELECT * FROM p` (the
//!   temporary table) as having opened the real `p`; the transaction's DELETE was
//!   exempt and ran in the cut-over's gap: an orphan. Now naming a view (or a name
//!   of another database) makes the session's names count as nothing.
//! - F3: a CALL or a stored function's call inside a transaction of a keyspace of
//!   another database was refused at once (1205) while a cut-over held. Now it
//!   waits for the hold, as outside a transaction, and runs.
//! - F1 (a prepared statement passing its own gate, then waiting at another
//!   keyspace's while its own hold began) is closed in `pass_gates` (every gate is
//!   passed again after any wait); specified in `online_r27`.

use crate::online_r26::{assert_complete, assert_held_then_refused, databases, scenario, session, Stop};

/// F2, unmanaged: the view's function made a temporary `p`; the DELETE waits and
/// gets 1451, no orphan.
#[test]
fn a_view_calling_a_function_does_not_exempt_a_write() {
    let dbs = databases();
    dbs.db
        .exec("CREATE VIEW vf1 AS SELECT f1() AS a; CREATE VIEW vf2 AS SELECT f2() AS a;");
    let sessions = vec![
        session("ks", &["BEGIN"], "DELETE FROM p WHERE id = 5"),
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

/// F3: a CALL and a stored function's call in a transaction of keyspace `other`
/// (another database) wait for the hold and then run.
#[test]
fn calls_in_a_transaction_of_another_database_wait_and_run() {
    let dbs = databases();
    dbs.other.exec(
        "CREATE PROCEDURE pr(i INT) BEGIN INSERT INTO x VALUES (i); END;
         CREATE FUNCTION fo() RETURNS INT DETERMINISTIC RETURN 1;",
    );
    let sessions = vec![
        session("other", &["BEGIN", "INSERT INTO x VALUES (20)"], "CALL pr(21)"),
        session("other", &["BEGIN", "INSERT INTO x VALUES (22)"], "SELECT fo()"),
    ];
    let seen = scenario(&dbs, "unmanaged", &sessions, Stop::None, false);
    assert_eq!(seen.finished, vec![false, false], "both waited: {:?}", seen.outcomes);
    for outcome in &seen.outcomes {
        assert!(outcome.is_ok(), "{:?}", seen.outcomes);
    }
    assert_complete(&dbs.db, &seen);
}
