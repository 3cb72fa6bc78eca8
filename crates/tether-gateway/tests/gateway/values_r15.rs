//! Review r15 J, findings 1-3: values checked and inlined as the server reads them.
//! J1: a number written into a VARCHAR FK column is stored as its text (`1` as
//! '1'), and InnoDB checks that text: the gateway's parent check looks for '1', not
//! for what compares equal to the number 1 ('01'). J2: a prepared DECIMAL parameter
//! is a number (compared with a VARCHAR column numerically, rounded half up into
//! an INT), not the string of its digits. J3: a prepared DATE parameter is a DATE
//! (stored into a VARCHAR as '2020-01-01', into a BIGINT as 20200101), not a
//! DATETIME at midnight. Each scenario runs natively and through a managed gateway:
//! the same outcome per statement (error code, SQL state, message), then the same
//! rows in every table.

use std::net::SocketAddr;

use mysql_async::Value;
use tether_testkit::{TestDb, TestEngine};

use crate::limits::prepare;
use crate::support::{caps, direct, err_packet, rows, start_one, Raw};
use crate::values_r14::{same_values_as_native, table, Step};

const CODES: &str = "
CREATE TABLE op (id INT PRIMARY KEY, code VARCHAR(10) UNIQUE) ENGINE=InnoDB;
CREATE TABLE oc (id INT PRIMARY KEY, pcode VARCHAR(10),
  CONSTRAINT oc_fk FOREIGN KEY (pcode) REFERENCES op (code) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO op VALUES (1,'01'), (2,'2'), (3,'3.50'), (4,'x');
INSERT INTO oc VALUES (2,'2'), (8,'3.50');
";

const CODE_ROWS: [&str; 2] = [
    "SELECT id, code FROM op ORDER BY id",
    "SELECT id, pcode FROM oc ORDER BY id",
];

/// The finding's scenario in every child-write form: the number 1 (or 1e0, 3.5,
/// 2.0) into the VARCHAR FK is stored as '1' ('3.5', '2.0'), which no parent has
/// (only '01', '3.50', '2'): 1452 natively and through the gateway, nothing
/// stored. A number whose text is a parent's key ('2', from 2 or 2e0) is written.
#[test]
fn numbers_into_a_varchar_fk_are_checked_as_the_text_stored() {
    let insert = "INSERT INTO oc VALUES (?, ?)";
    let (codes, found) = same_values_as_native(
        CODES,
        &[
            Step::Text("INSERT INTO oc VALUES (1, 1)"),
            Step::Text("INSERT INTO oc SET id=3, pcode=1"),
            Step::Text("UPDATE oc SET pcode=1 WHERE id=2"),
            Step::Text("UPDATE oc SET pcode=1e0 WHERE id=2"),
            Step::Text("INSERT INTO oc VALUES (2,'2') ON DUPLICATE KEY UPDATE pcode=1"),
            Step::Text("REPLACE INTO oc VALUES (2, 1)"),
            Step::Text("REPLACE INTO oc SET id=2, pcode=1"),
            Step::Text("INSERT INTO oc VALUES (4, 3.5)"),
            Step::Text("INSERT INTO oc VALUES (4, 35e-1)"),
            Step::Prepared(insert, vec![Value::Int(5), Value::Int(1)]),
            Step::Prepared(insert, vec![Value::Int(5), Value::Double(1.0)]),
            Step::Prepared(
                "INSERT INTO oc VALUES (?, ?) ON DUPLICATE KEY UPDATE pcode=?",
                vec![Value::Int(2), Value::Bytes(b"2".to_vec()), Value::Int(1)],
            ),
            Step::Prepared("UPDATE oc SET pcode=? WHERE id=?", vec![Value::Int(1), Value::Int(2)]),
            Step::Text("INSERT INTO oc VALUES (6, 2)"),
            Step::Text("INSERT INTO oc VALUES (7, 2e0)"),
            Step::Text("UPDATE oc SET pcode=2.0 WHERE id=6"),
            Step::Prepared(insert, vec![Value::Int(9), Value::Int(2)]),
        ],
        &CODE_ROWS,
    );
    assert_eq!(
        codes,
        [1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 1452, 0, 0, 1452, 0]
    );
    assert_eq!(
        found[0],
        table(&[&["1", "01"], &["2", "2"], &["3", "3.50"], &["4", "x"]])
    );
    assert_eq!(
        found[1],
        table(&[&["2", "2"], &["6", "2"], &["7", "2"], &["8", "3.50"], &["9", "2"]])
    );
}

/// A parent's VARCHAR key set to a number is stored as its text, and its children
/// follow to that text ('3.5' from 35e-1, '1' from 1), natively and through the
/// gateway; a child then written with the number finds it.
#[test]
fn numbers_into_a_varchar_parent_key_cascade_as_the_text_stored() {
    let (codes, found) = same_values_as_native(
        CODES,
        &[
            Step::Text("UPDATE op SET code=35e-1 WHERE id=3"),
            Step::Text("UPDATE op SET code=1 WHERE id=2"),
            Step::Text("INSERT INTO oc VALUES (3, 1)"),
            Step::Text("INSERT INTO oc VALUES (4, 3.5)"),
        ],
        &CODE_ROWS,
    );
    assert_eq!(codes, [0, 0, 0, 0]);
    assert_eq!(
        found[0],
        table(&[&["1", "01"], &["2", "1"], &["3", "3.5"], &["4", "x"]])
    );
    assert_eq!(
        found[1],
        table(&[&["2", "1"], &["3", "1"], &["4", "3.5"], &["8", "3.5"]])
    );
}

/// A raw client logged in to MariaDB itself as `db`'s URL says (no password).
fn native_raw(db: &TestDb) -> Raw {
    let rest = db.url.strip_prefix("mysql://").expect("a mysql:// URL");
    let (user, rest) = rest.split_once('@').expect("user@host");
    let host = rest.split('/').next().expect("host:port");
    let addr: SocketAddr = host.parse().expect("ip:port");
    let (mut raw, _salt) = Raw::greeted(addr);
    let mut login = caps::BASE.to_le_bytes().to_vec();
    login.extend_from_slice(&(1u32 << 24).to_le_bytes());
    login.push(45);
    login.extend_from_slice(&[0; 23]);
    login.extend_from_slice(format!("{user}\0").as_bytes());
    login.push(0); // no password
    login.extend_from_slice(format!("{}\0mysql_native_password\0", db.name).as_bytes());
    raw.write(1, &login);
    let (_, ok) = raw.read();
    assert_eq!(ok[0], 0x00, "logged in to MariaDB: {:?}", String::from_utf8_lossy(&ok));
    raw
}

const TYPE_LONGLONG: u8 = 8;
const TYPE_DATE: u8 = 10;
const TYPE_DATETIME: u8 = 12;
const TYPE_NEWDECIMAL: u8 = 246;

/// A parameter as the binary protocol carries it: its type and value bytes.
#[derive(Clone)]
enum Param {
    Int(i64),
    Decimal(&'static str),
    Date(u16, u8, u8),
    /// A DATETIME at midnight, sent in the 4-byte form clients use for it.
    Midnight(u16, u8, u8),
}

impl Param {
    fn encoded(&self) -> (u8, Vec<u8>) {
        let date = |y: u16, m: u8, d: u8| [&[4u8][..], &y.to_le_bytes(), &[m, d]].concat();
        match self {
            Param::Int(i) => (TYPE_LONGLONG, i.to_le_bytes().to_vec()),
            Param::Decimal(text) => (TYPE_NEWDECIMAL, [&[text.len() as u8][..], text.as_bytes()].concat()),
            Param::Date(y, m, d) => (TYPE_DATE, date(*y, *m, *d)),
            Param::Midnight(y, m, d) => (TYPE_DATETIME, date(*y, *m, *d)),
        }
    }
}

/// COM_STMT_PREPARE of `sql`, then COM_STMT_EXECUTE with `params` (types sent):
/// `ok <rows affected>` or `err <code> <message>`, `db` in it written `DB`.
fn run_prepared(raw: &mut Raw, db: &str, sql: &str, params: &[Param]) -> String {
    let id = prepare(raw, sql);
    let mut body = id.to_le_bytes().to_vec();
    body.push(0); // no cursor
    body.extend_from_slice(&1u32.to_le_bytes());
    body.extend_from_slice(&vec![0u8; params.len().div_ceil(8)]); // no NULLs
    body.push(1); // types follow
    let encoded: Vec<(u8, Vec<u8>)> = params.iter().map(Param::encoded).collect();
    for (t, _) in &encoded {
        body.extend_from_slice(&[*t, 0]);
    }
    for (_, value) in &encoded {
        body.extend_from_slice(value);
    }
    raw.command(0x17, &body);
    let answer = raw.answer();
    let outcome = match answer[0][0] {
        // A small rows-affected count is one byte.
        0x00 => format!("ok {}", answer[0][1]),
        _ => {
            let (code, message) = err_packet(&answer[0]);
            format!("err {code} {}", message.replace(db, "DB"))
        }
    };
    raw.command(0x19, &id.to_le_bytes()); // COM_STMT_CLOSE: no answer
    outcome
}

/// Runs the prepared `steps` natively and through a managed gateway on `schema`
/// with raw binary-protocol clients: the same outcome per step (returned), then
/// the same rows for `queries` (returned, the native ones).
fn prepared_as_native(
    schema: &str,
    steps: &[(&str, Vec<Param>)],
    queries: &[&str],
) -> (Vec<String>, Vec<Vec<Vec<String>>>) {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    let mut n = native_raw(&native);
    let mut g = Raw::login(gw.addr, caps::BASE, "ks");
    let mut outcomes = Vec::new();
    for (i, (sql, params)) in steps.iter().enumerate() {
        let a = run_prepared(&mut n, &native.name, sql, params);
        let b = run_prepared(&mut g, &managed.name, sql, params);
        assert_eq!(a, b, "statement {i}: {sql}: native, then the gateway");
        outcomes.push(a);
    }
    gw.block_on(async {
        let (mut n, mut m) = (direct(&native).await, direct(&managed).await);
        let mut found = Vec::new();
        for q in queries {
            let (a, b) = (rows(&mut n, q).await, rows(&mut m, q).await);
            assert_eq!(a, b, "{q}: native, then the gateway's database");
            found.push(a);
        }
        (outcomes, found)
    })
}

const DECIMALS: &str = "
CREATE TABLE dp (id INT PRIMARY KEY, code VARCHAR(10) UNIQUE) ENGINE=InnoDB;
CREATE TABLE dr (id INT PRIMARY KEY, pid INT,
  CONSTRAINT dr_fk FOREIGN KEY (pid) REFERENCES dp (id) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO dp VALUES (1,'1'), (2,'1.0'), (3,'2.50'), (4,'7');
INSERT INTO dr VALUES (1,1), (3,3);
";

/// The finding's scenario: `DELETE FROM dp WHERE code=?` with the DECIMAL 1.0
/// compares numerically, matching '1' (with a RESTRICT child: 1451, nothing
/// deleted) and '1.0'; with 2.5 it matches '2.50' (its child: 1451) and 7 deletes
/// '7'. A DECIMAL new key is rounded half up into the INT key (7.5 is 8) and the
/// child follows; a DECIMAL child value is checked as stored (3.4 is 3).
#[test]
fn prepared_decimal_parameters_are_numbers() {
    let delete = "DELETE FROM dp WHERE code=?";
    let (outcomes, found) = prepared_as_native(
        DECIMALS,
        &[
            (delete, vec![Param::Decimal("1.0")]),
            (delete, vec![Param::Decimal("2.5")]),
            (delete, vec![Param::Decimal("7")]),
            (
                "UPDATE dp SET id=? WHERE id=?",
                vec![Param::Decimal("7.5"), Param::Int(3)],
            ),
            (
                "UPDATE dr SET pid=? WHERE id=?",
                vec![Param::Decimal("3.4"), Param::Int(1)],
            ),
            (
                "UPDATE dr SET pid=? WHERE id=?",
                vec![Param::Decimal("1.4"), Param::Int(3)],
            ),
        ],
        &[
            "SELECT id, code FROM dp ORDER BY id",
            "SELECT id, pid FROM dr ORDER BY id",
        ],
    );
    let restrict = "err 1451 Cannot delete or update a parent row: a foreign key constraint fails \
                    (`DB`.`dr`, CONSTRAINT `dr_fk` FOREIGN KEY (`pid`) REFERENCES `dp` (`id`) ON UPDATE CASCADE)";
    let missing = "err 1452 Cannot add or update a child row: a foreign key constraint fails \
                   (`DB`.`dr`, CONSTRAINT `dr_fk` FOREIGN KEY (`pid`) REFERENCES `dp` (`id`) ON UPDATE CASCADE)";
    assert_eq!(outcomes, [restrict, restrict, "ok 1", "ok 1", missing, "ok 1"]);
    assert_eq!(found[0], table(&[&["1", "1"], &["2", "1.0"], &["8", "2.50"]]));
    assert_eq!(found[1], table(&[&["1", "1"], &["3", "1"]]));
}

const DATES: &str = "
CREATE TABLE tp (id INT PRIMARY KEY, code VARCHAR(10) UNIQUE, n BIGINT UNIQUE) ENGINE=InnoDB;
CREATE TABLE tc (id INT PRIMARY KEY, pcode VARCHAR(10), pn BIGINT,
  CONSTRAINT tc_code FOREIGN KEY (pcode) REFERENCES tp (code) ON UPDATE CASCADE,
  CONSTRAINT tc_n FOREIGN KEY (pn) REFERENCES tp (n) ON UPDATE CASCADE) ENGINE=InnoDB;
CREATE TABLE tw (id INT PRIMARY KEY, code VARCHAR(20) UNIQUE) ENGINE=InnoDB;
CREATE TABLE tx (id INT PRIMARY KEY, pcode VARCHAR(20),
  CONSTRAINT tx_code FOREIGN KEY (pcode) REFERENCES tw (code) ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO tp VALUES (1,'a',1), (2,'b',2);
INSERT INTO tc VALUES (1,'a',1), (2,'b',2);
INSERT INTO tw VALUES (1,'a');
INSERT INTO tx VALUES (1,'a');
";

/// The finding's scenario: a DATE parameter into a VARCHAR(10) key is stored as
/// '2020-01-01' (a DATETIME would be 19 characters: 1406) and cascaded so; into a
/// BIGINT key as 20200102 (not 20200102000000); a child's DATE value is checked
/// as that text. A DATETIME at midnight stays a DATETIME ('2020-01-03 00:00:00').
#[test]
fn prepared_date_parameters_are_dates() {
    let (outcomes, found) = prepared_as_native(
        DATES,
        &[
            (
                "UPDATE tp SET code=? WHERE id=?",
                vec![Param::Date(2020, 1, 1), Param::Int(1)],
            ),
            (
                "UPDATE tp SET n=? WHERE id=?",
                vec![Param::Date(2020, 1, 2), Param::Int(2)],
            ),
            (
                "UPDATE tc SET pcode=? WHERE id=?",
                vec![Param::Date(2020, 1, 1), Param::Int(2)],
            ),
            (
                "UPDATE tc SET pn=? WHERE id=?",
                vec![Param::Date(2020, 1, 2), Param::Int(1)],
            ),
            (
                "UPDATE tw SET code=? WHERE id=?",
                vec![Param::Midnight(2020, 1, 3), Param::Int(1)],
            ),
            (
                "INSERT INTO tx VALUES (?, ?)",
                vec![Param::Int(2), Param::Date(2020, 1, 3)],
            ),
        ],
        &[
            "SELECT id, code, n FROM tp ORDER BY id",
            "SELECT id, pcode, pn FROM tc ORDER BY id",
            "SELECT id, code FROM tw ORDER BY id",
            "SELECT id, pcode FROM tx ORDER BY id",
        ],
    );
    let missing = "err 1452 Cannot add or update a child row: a foreign key constraint fails \
                   (`DB`.`tx`, CONSTRAINT `tx_code` FOREIGN KEY (`pcode`) REFERENCES `tw` (`code`) ON UPDATE CASCADE)";
    assert_eq!(outcomes, ["ok 1", "ok 1", "ok 1", "ok 1", "ok 1", missing]);
    assert_eq!(found[0], table(&[&["1", "2020-01-01", "1"], &["2", "b", "20200102"]]));
    assert_eq!(
        found[1],
        table(&[&["1", "2020-01-01", "20200102"], &["2", "2020-01-01", "20200102"]])
    );
    assert_eq!(found[2], table(&[&["1", "2020-01-03 00:00:00"]]));
    assert_eq!(found[3], table(&[&["1", "2020-01-03 00:00:00"]]));
}
