//! Review r20 K, findings 1-3. F1: outside strict mode MariaDB stores NULL written
//! into a NOT NULL column as the type's implicit default (0, 0.00, '') with warning
//! 1048, and InnoDB cascades and checks THAT value: a managed keyspace cascades
//! and checks it too (it cascaded NULL, detaching the children, and left a NOT NULL
//! child column's stored 0 unchecked). F3: in strict mode the NULL is refused with
//! 1048 before any FK check (a RESTRICT child answered 1451). F2: a failed
//! COM_STMT_SEND_LONG_DATA (a parameter the statement does not have: 1210; one
//! parameter's long data over max_allowed_packet: 1105) fails every execute of the
//! statement until COM_STMT_RESET, as in MariaDB. Each scenario runs natively and
//! through the gateway: the same answers, then the same rows.

use mysql_async::Value;
use tether_testkit::{TestDb, TestEngine};

use crate::limits::prepare;
use crate::protocol_r13::{long_data, native_raw};
use crate::support::{caps, direct, dump, err_packet, start_with, Raw};
use crate::values_r14::{same_values_as_native, table, Step};

const NULL_KEYS: &str = "
CREATE TABLE pi (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE ci (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES pi (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE cn (id INT PRIMARY KEY, pid INT NOT NULL,
  FOREIGN KEY (pid) REFERENCES pi (id)) ENGINE=InnoDB;
CREATE TABLE pd (id DECIMAL(6,2) NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cd (id INT PRIMARY KEY, pid DECIMAL(6,2),
  FOREIGN KEY (pid) REFERENCES pd (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE pv (id VARCHAR(5) NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cv (id INT PRIMARY KEY, pid VARCHAR(5),
  FOREIGN KEY (pid) REFERENCES pv (id) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE pr (id INT NOT NULL PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE cr (id INT PRIMARY KEY, pid INT,
  FOREIGN KEY (pid) REFERENCES pr (id)) ENGINE=InnoDB;
INSERT INTO pi VALUES (1), (2), (3), (4);
INSERT INTO ci VALUES (10, 1), (20, 2), (30, 3), (40, 4);
INSERT INTO cn VALUES (1, 4);
INSERT INTO pd VALUES (1.50), (2.50);
INSERT INTO cd VALUES (10, 1.50), (20, 2.50);
INSERT INTO pv VALUES ('a'), ('b'), ('c');
INSERT INTO cv VALUES (10, 'a'), (20, 'b'), (30, 'c');
INSERT INTO pr VALUES (1);
INSERT INTO cr VALUES (10, 1);
";

const NULL_KEY_ROWS: [&str; 8] = [
    "SELECT id FROM pi ORDER BY id",
    "SELECT id, pid FROM ci ORDER BY id",
    "SELECT id, pid FROM cn ORDER BY id",
    "SELECT id FROM pd ORDER BY id",
    "SELECT id, pid FROM cd ORDER BY id",
    "SELECT id, CONCAT('[', pid, ']') FROM cv ORDER BY id",
    "SELECT id FROM pr ORDER BY id",
    "SELECT id, pid FROM cr ORDER BY id",
];

/// Outside strict mode a NULL new key (INT, DECIMAL, VARCHAR; text and prepared)
/// is stored as 0 / 0.00 / '' and the ON UPDATE CASCADE children follow to it
/// (they were set NULL: detached); the neighbours (a number clipped to the
/// column's range, a string cut) likewise; a second NULL key meets the first's 0.
#[test]
fn null_into_a_not_null_key_is_cascaded_as_stored_outside_strict_mode() {
    let (codes, found) = same_values_as_native(
        NULL_KEYS,
        &[
            Step::Text("SET sql_mode=''"),
            Step::Text("UPDATE pi SET id=NULL WHERE id=1"),
            Step::Prepared(
                "UPDATE pd SET id=? WHERE id=?",
                vec![Value::NULL, Value::Bytes(b"1.50".to_vec())],
            ),
            Step::Text("UPDATE pv SET id=NULL WHERE id='a'"),
            Step::Text("UPDATE pi SET id=3000000000 WHERE id=2"),
            Step::Prepared(
                "UPDATE pv SET id=? WHERE id=?",
                vec![Value::Bytes(b"bbbbbbbb".to_vec()), Value::Bytes(b"b".to_vec())],
            ),
            Step::Prepared("UPDATE pi SET id=? WHERE id=?", vec![Value::NULL, Value::Int(3)]),
        ],
        &NULL_KEY_ROWS,
    );
    assert_eq!(codes, [0, 0, 0, 0, 0, 0, 1062]);
    assert_eq!(
        found,
        [
            table(&[&["0"], &["3"], &["4"], &["2147483647"]]),
            table(&[&["10", "0"], &["20", "2147483647"], &["30", "3"], &["40", "4"]]),
            table(&[&["1", "4"]]),
            table(&[&["0.00"], &["2.50"]]),
            table(&[&["10", "0.00"], &["20", "2.50"]]),
            table(&[&["10", "[]"], &["20", "[bbbbb]"], &["30", "[c]"]]),
            table(&[&["1"]]),
            table(&[&["10", "1"]]),
        ]
    );
}

/// Outside strict mode NULL into a NOT NULL child column is checked as the 0
/// stored: 1452 while no parent 0 exists (UPDATE text and prepared, a multi-row
/// INSERT; the child was written with 0, an orphan), written once one does; a
/// single-row INSERT is refused with 1048 in any mode.
#[test]
fn null_into_a_not_null_child_column_is_checked_as_stored_outside_strict_mode() {
    let (codes, found) = same_values_as_native(
        NULL_KEYS,
        &[
            Step::Text("SET sql_mode=''"),
            Step::Text("UPDATE cn SET pid=NULL WHERE id=1"),
            Step::Prepared("UPDATE cn SET pid=? WHERE id=?", vec![Value::NULL, Value::Int(1)]),
            Step::Text("INSERT INTO cn VALUES (2, NULL), (3, 4)"),
            Step::Text("INSERT INTO cn VALUES (2, NULL)"),
            Step::Text("INSERT INTO pi VALUES (0)"),
            Step::Text("UPDATE cn SET pid=NULL WHERE id=1"),
            Step::Text("INSERT INTO cn VALUES (2, NULL), (3, 4)"),
        ],
        &NULL_KEY_ROWS[..3],
    );
    assert_eq!(codes, [0, 1452, 1452, 1452, 1048, 0, 0, 0]);
    assert_eq!(
        found,
        [
            table(&[&["0"], &["1"], &["2"], &["3"], &["4"]]),
            table(&[&["10", "1"], &["20", "2"], &["30", "3"], &["40", "4"]]),
            table(&[&["1", "0"], &["2", "0"], &["3", "4"]]),
        ]
    );
}

/// In strict mode NULL into a NOT NULL key or column is refused with 1048 before
/// any FK check: a RESTRICT child (it answered 1451), a cascade child, a NOT NULL
/// child column; nothing changes.
#[test]
fn null_into_a_not_null_key_is_refused_with_1048_before_fk_checks_in_strict_mode() {
    let (codes, found) = same_values_as_native(
        NULL_KEYS,
        &[
            Step::Text("SET sql_mode='STRICT_TRANS_TABLES'"),
            Step::Text("UPDATE pr SET id=NULL WHERE id=1"),
            Step::Prepared("UPDATE pr SET id=? WHERE id=?", vec![Value::NULL, Value::Int(1)]),
            Step::Prepared("UPDATE pi SET id=? WHERE id=?", vec![Value::NULL, Value::Int(4)]),
            Step::Text("UPDATE pv SET id=NULL"),
            Step::Text("UPDATE cn SET pid=NULL WHERE id=1"),
            Step::Text("INSERT INTO cn VALUES (2, NULL), (3, 4)"),
        ],
        &NULL_KEY_ROWS,
    );
    assert_eq!(codes, [0, 1048, 1048, 1048, 1048, 1048, 1048]);
    assert_eq!(
        found,
        [
            table(&[&["1"], &["2"], &["3"], &["4"]]),
            table(&[&["10", "1"], &["20", "2"], &["30", "3"], &["40", "4"]]),
            table(&[&["1", "4"]]),
            table(&[&["1.50"], &["2.50"]]),
            table(&[&["10", "1.50"], &["20", "2.50"]]),
            table(&[&["10", "[a]"], &["20", "[b]"], &["30", "[c]"]]),
            table(&[&["1"]]),
            table(&[&["10", "1"]]),
        ]
    );
}

const LONG_DATA: &str = "
CREATE TABLE p (id INT PRIMARY KEY, code VARCHAR(10)) ENGINE=InnoDB;
CREATE TABLE c (id INT PRIMARY KEY, pid INT,
  CONSTRAINT c_p FOREIGN KEY (pid) REFERENCES p (id) ON DELETE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f');
INSERT INTO c VALUES (10, 1), (20, 2), (30, 3), (40, 4), (50, 5), (60, 6);
";

const TYPE_LONG: u8 = 3;
const TYPE_VAR_STRING: u8 = 253;

/// The answer's first packet: `ok <rows affected>` or `err <code> <message>`.
pub(crate) fn answer(raw: &mut Raw) -> String {
    let answer = raw.answer();
    match answer[0][0] {
        0x00 => format!("ok {}", answer[0][1]),
        0xff => {
            let (code, message) = err_packet(&answer[0]);
            format!("err {code} {message}")
        }
        _ => format!("{answer:?}"),
    }
}

/// COM_STMT_EXECUTE of `id` with the parameters' `types` and `values`, none NULL.
pub(crate) fn execute(raw: &mut Raw, id: u32, types: &[u8], values: &[u8]) -> String {
    let mut body = id.to_le_bytes().to_vec();
    body.push(0);
    body.extend_from_slice(&1u32.to_le_bytes());
    body.push(0);
    body.push(1);
    for t in types {
        body.extend_from_slice(&[*t, 0]);
    }
    body.extend_from_slice(values);
    raw.command(0x17, &body);
    answer(raw)
}

pub(crate) fn reset(raw: &mut Raw, id: u32) -> String {
    raw.command(0x1a, &id.to_le_bytes());
    answer(raw)
}

/// The finding's steps on one connection: the answers in order.
fn long_data_steps(raw: &mut Raw) -> Vec<String> {
    let int = |v: i32| v.to_le_bytes().to_vec();
    let string = |s: &str| [vec![s.len() as u8], s.as_bytes().to_vec()].concat();
    let mut answers = Vec::new();
    // Long data for parameter 1 of a one-parameter DELETE: every execute fails
    // (nothing deleted, nothing cascaded) until the reset.
    let delete = prepare(raw, "DELETE FROM p WHERE id = ?");
    long_data(raw, delete, 1, b"1");
    answers.push(execute(raw, delete, &[TYPE_LONG], &int(1)));
    answers.push(execute(raw, delete, &[TYPE_LONG], &int(2)));
    // Valid long data after the error does not clear it.
    long_data(raw, delete, 0, b"2");
    answers.push(execute(raw, delete, &[TYPE_VAR_STRING], &[]));
    answers.push(reset(raw, delete));
    answers.push(execute(raw, delete, &[TYPE_LONG], &int(3)));
    // One parameter's long data over max_allowed_packet (16 MiB): 1105 on every
    // execute until the reset.
    let update = prepare(raw, "UPDATE p SET code = LEFT(?, 5) WHERE id = ?");
    let half = vec![b'x'; 8 << 20];
    long_data(raw, update, 0, &half);
    long_data(raw, update, 0, &half);
    long_data(raw, update, 0, &[b'y'; 100]);
    answers.push(execute(raw, update, &[TYPE_VAR_STRING, TYPE_LONG], &int(4)));
    answers.push(execute(
        raw,
        update,
        &[TYPE_VAR_STRING, TYPE_LONG],
        &[string("two"), int(4)].concat(),
    ));
    // A later failure replaces the error.
    long_data(raw, update, 7, b"z");
    answers.push(execute(
        raw,
        update,
        &[TYPE_VAR_STRING, TYPE_LONG],
        &[string("two"), int(4)].concat(),
    ));
    answers.push(reset(raw, update));
    answers.push(execute(
        raw,
        update,
        &[TYPE_VAR_STRING, TYPE_LONG],
        &[string("three"), int(5)].concat(),
    ));
    // Long data under the limit after the reset is used.
    long_data(raw, update, 0, b"four");
    answers.push(execute(raw, update, &[TYPE_VAR_STRING, TYPE_LONG], &int(6)));
    answers
}

#[test]
fn failed_long_data_fails_every_execute_until_the_reset_as_natively() {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    let unmanaged = TestDb::create(TestEngine::Mysql);
    for db in [&native, &managed, &unmanaged] {
        db.exec(LONG_DATA);
    }
    // MariaDB's max_allowed_packet here is 16 MiB.
    let gw = start_with(
        &[("ks", "managed", &managed.url), ("un", "unmanaged", &unmanaged.url)],
        r#""maxAllowedPacket": 16777216,"#,
    );
    let wrong = "err 1210 Incorrect arguments to mysqld_stmt_send_long_data";
    let long = "err 1105 Parameter of prepared statement which is set through mysql_send_long_data() is longer \
                than 'max_allowed_packet' bytes";
    let want = [
        wrong, wrong, wrong, "ok 0", "ok 1", long, long, wrong, "ok 0", "ok 1", "ok 1",
    ];
    assert_eq!(long_data_steps(&mut native_raw(&native)), want, "native");
    for keyspace in ["ks", "un"] {
        assert_eq!(
            long_data_steps(&mut Raw::login(gw.addr, caps::BASE, keyspace)),
            want,
            "through the gateway, {keyspace}"
        );
    }
    let rows = table(&[&["1", "a"], &["2", "b"], &["4", "d"], &["5", "three"], &["6", "four"]]);
    let children = table(&[&["10", "1"], &["20", "2"], &["40", "4"], &["50", "5"], &["60", "6"]]);
    gw.block_on(async {
        for db in [&native, &managed, &unmanaged] {
            let mut conn = direct(db).await;
            assert_eq!(
                dump(&mut conn, &["p", "c"]).await,
                vec![("p".to_string(), rows.clone()), ("c".to_string(), children.clone())],
                "{}",
                db.name
            );
        }
    });
}
