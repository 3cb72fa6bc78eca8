//! Fourteenth session: a planned write while the client holds LOCK TABLES, and
//! SHOW WARNINGS after a planned write whose plan ran child statements. Each
//! scenario runs natively and through a managed gateway and compares error codes
//! and messages, rows affected, warnings and rows.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tether_testkit::{TestDb, TestEngine};

use crate::managed::outcome;
use crate::support::{direct, native_and_gateway, rows, start_one};

/// Review r14 A finding 5's schema: `c` cascades from `p`, `r` restricts it, `o`
/// has no FK.
const SCHEMA: &str = "
CREATE TABLE p (id int PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE c (id int PRIMARY KEY, pid int, FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE) ENGINE=InnoDB;
CREATE TABLE r (id int PRIMARY KEY, pid int, FOREIGN KEY (pid) REFERENCES p(id)) ENGINE=InnoDB;
CREATE TABLE o (id int PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO p VALUES (5), (6), (7);
INSERT INTO r VALUES (5, 5);
INSERT INTO c VALUES (6, 6), (7, 7);
";

/// Every table of [`SCHEMA`], in key order.
const TABLES: &[&str] = &[
    "SELECT id FROM p ORDER BY id",
    "SELECT id, pid FROM c ORDER BY id",
    "SELECT id, pid FROM r ORDER BY id",
    "SELECT id FROM o ORDER BY id",
];

/// The rows of [`TABLES`] read natively and directly on the gateway's database:
/// the same; the native ones.
async fn same_tables(n: &mut Conn, m: &mut Conn) -> Vec<Vec<Vec<String>>> {
    let mut found = Vec::new();
    for q in TABLES {
        let (a, b) = (rows(n, q).await, rows(m, q).await);
        assert_eq!(a, b, "{q}: native, then the gateway's database");
        found.push(a);
    }
    found
}

/// `sql` on both sides: the same (code, rows affected, message with the database
/// names replaced); returns the code.
async fn same(n: &mut Conn, g: &mut Conn, dbs: [&str; 2], sql: &str) -> u16 {
    let a = outcome(n, sql).await;
    let b = outcome(g, sql).await;
    let norm = |o: (u16, u64, String), db: &str| (o.0, o.1, o.2.replace(db, "DB"));
    let (a, b) = (norm(a, dbs[0]), norm(b, dbs[1]));
    assert_eq!(a, b, "{sql}: native, then the gateway");
    a.0
}

/// Finding 5: under `LOCK TABLES p READ` a cascading DELETE fails natively with
/// 1100 naming the child `c` (MariaDB opens the FK tables first), not with the
/// restricting child's 1451. Under `LOCK TABLES p WRITE` the FK tables are locked
/// with it and the DELETE cascades; an INSERT under `LOCK TABLES c WRITE` has its
/// parent checked by InnoDB, below the locks (the gateway's own parent read would
/// meet 1100: InnoDB runs it); a READ lock on the written table is 1099.
#[test]
fn planned_writes_under_lock_tables_meet_native_lock_errors() {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(SCHEMA);
    managed.exec(SCHEMA);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let dbs = [native.name.as_str(), managed.name.as_str()];
        let statements = [
            "LOCK TABLES p READ",
            "DELETE FROM p WHERE id = 5",
            "UPDATE p SET id = 8 WHERE id = 7",
            "UNLOCK TABLES",
            "LOCK TABLES p WRITE",
            "DELETE FROM p WHERE id = 6",
            "DELETE FROM p WHERE id = 5",
            "SELECT * FROM o",
            "UNLOCK TABLES",
            "LOCK TABLES c WRITE",
            "INSERT INTO c VALUES (10, 7)",
            "INSERT INTO c VALUES (11, 99)",
            "UNLOCK TABLES",
            "LOCK TABLES c READ",
            "INSERT INTO c VALUES (12, 7)",
            "UNLOCK TABLES",
        ];
        let mut codes = Vec::new();
        for sql in statements {
            codes.push(same(&mut n, &mut g, dbs, sql).await);
        }
        assert_eq!(
            codes,
            [0, 1100, 1100, 0, 0, 0, 1451, 1100, 0, 0, 0, 1452, 0, 0, 1099, 0]
        );
        let mut m = direct(&managed).await;
        let tables = same_tables(&mut n, &mut m).await;
        assert_eq!(tables[1], [["7", "7"], ["10", "7"]]);
    });
}

/// A planned, cascading DELETE under `LOCK TABLES p WRITE, c WRITE` keeps the
/// client's locks, natively and through the gateway: another session's write to
/// `p` waits and fails with 1205 after its `lock_wait_timeout`, a table the client
/// did not lock is still refused (1100), and after UNLOCK TABLES the other
/// session writes. The same with autocommit off (the gateway's savepoint).
#[test]
fn planned_write_keeps_the_clients_table_locks() {
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(SCHEMA);
    managed.exec(SCHEMA);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let dbs = [native.name.as_str(), managed.name.as_str()];
        let (mut n2, mut m2) = (direct(&native).await, direct(&managed).await);
        for other in [&mut n2, &mut m2] {
            other
                .query_drop("SET SESSION lock_wait_timeout = 1")
                .await
                .expect("set");
        }
        let mut blocked = Vec::new();
        for (autocommit, deleted, inserted) in [(1, 6, 100), (0, 7, 101)] {
            let set = format!("SET autocommit = {autocommit}");
            assert_eq!(same(&mut n, &mut g, dbs, &set).await, 0);
            assert_eq!(same(&mut n, &mut g, dbs, "LOCK TABLES p WRITE, c WRITE").await, 0);
            let delete = format!("DELETE FROM p WHERE id = {deleted}");
            assert_eq!(same(&mut n, &mut g, dbs, &delete).await, 0);
            let insert = format!("INSERT INTO p VALUES ({inserted})");
            for other in [&mut n2, &mut m2] {
                let (code, _, message) = outcome(other, &insert).await;
                blocked.push((code, message));
            }
            assert_eq!(same(&mut n, &mut g, dbs, "SELECT * FROM o").await, 1100);
            assert_eq!(same(&mut n, &mut g, dbs, "COMMIT").await, 0);
            assert_eq!(same(&mut n, &mut g, dbs, "UNLOCK TABLES").await, 0);
            for other in [&mut n2, &mut m2] {
                assert_eq!(outcome(other, &insert).await.0, 0, "{insert} after UNLOCK TABLES");
            }
        }
        let timeout = (
            1205,
            "Lock wait timeout exceeded; try restarting transaction".to_string(),
        );
        assert_eq!(
            blocked,
            vec![timeout; 4],
            "native, then the gateway: the other session waits"
        );
        let mut m = direct(&managed).await;
        let tables = same_tables(&mut n, &mut m).await;
        assert_eq!(tables[0], [["5"], ["100"], ["101"]]);
        assert_eq!(tables[1], Vec::<Vec<String>>::new());
    });
}

/// SHOW WARNINGS after a planned write whose plan ran child statements: the
/// original's warnings (values cut under a non-strict sql_mode, strings compared
/// as numbers), as natively, in every form that reads them, until a statement
/// that uses a table; table-less statements keep them, as natively. In
/// autocommit mode, inside the client's transaction and under LOCK TABLES.
#[test]
fn show_warnings_after_a_cascading_write_are_the_statements() {
    let schema = "
CREATE TABLE p (id int PRIMARY KEY, v varchar(2)) ENGINE=InnoDB;
CREATE TABLE c (id int PRIMARY KEY, pid int,
  FOREIGN KEY (pid) REFERENCES p(id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
INSERT INTO p VALUES (1, 'a'), (2, 'b'), (3, 'zz'), (4, '9'), (5, 'yy');
INSERT INTO c VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5);
";
    let native = TestDb::create(TestEngine::Mysql);
    let managed = TestDb::create(TestEngine::Mysql);
    native.exec(schema);
    managed.exec(schema);
    let gw = start_one(&managed, "managed");
    gw.block_on(async {
        let (mut n, mut g) = native_and_gateway(&native, &gw, false).await;
        let dbs = [native.name.as_str(), managed.name.as_str()];
        let reads = [
            "SHOW WARNINGS",
            "SHOW COUNT(*) WARNINGS",
            "SELECT @@warning_count",
            "SHOW WARNINGS LIMIT 1",
            "SHOW WARNINGS LIMIT 1, 1",
            "SHOW ERRORS",
            "SET @x = 1",
            "SHOW WARNINGS",
        ];
        let mut shown = Vec::new();
        for write in [
            "SET sql_mode = ''",
            "UPDATE p SET v = 'abcd', id = id + 10 WHERE id IN (1, 2)",
            "DELETE FROM p WHERE id >= 3 AND v = 0",
            // Under the client's transaction (a savepoint), and under LOCK TABLES.
            "START TRANSACTION",
            "UPDATE p SET v = 'long', id = 14 WHERE id = 4",
            "COMMIT",
            "LOCK TABLES p WRITE",
            "UPDATE p SET v = 'long', id = 24 WHERE id = 14",
            "UNLOCK TABLES",
            "DELETE FROM p WHERE id = 24",
        ] {
            assert_eq!(same(&mut n, &mut g, dbs, write).await, 0);
            assert_eq!(n.get_warnings(), g.get_warnings(), "{write}: warning count");
            let mut read = Vec::new();
            for sql in reads {
                let (a, b) = match sql.starts_with("SET") {
                    true => {
                        assert_eq!(same(&mut n, &mut g, dbs, sql).await, 0);
                        continue;
                    }
                    false => (rows(&mut n, sql).await, rows(&mut g, sql).await),
                };
                assert_eq!(a, b, "{write}; {sql}: native, then the gateway");
                read.push(a);
            }
            shown.push(read);
        }
        let w = |code: &str, m: &str| vec!["Warning".to_string(), code.to_string(), m.to_string()];
        let cut = |row: u32| w("1265", &format!("Data truncated for column 'v' at row {row}"));
        assert_eq!(shown[1][0], [cut(1), cut(2)]);
        assert_eq!(shown[1][1], [["2"]]);
        assert_eq!(shown[1][2], [["2"]]);
        assert_eq!(shown[1][3], [cut(1)]);
        assert_eq!(shown[1][4], [cut(2)]);
        assert_eq!(shown[1][5], Vec::<Vec<String>>::new());
        assert_eq!(shown[1][6], [cut(1), cut(2)]);
        let decimal = |v: &str| w("1292", &format!("Truncated incorrect DECIMAL value: '{v}'"));
        assert_eq!(
            shown[2][0],
            [decimal("zz"), decimal("yy"), decimal("ab"), decimal("ab")]
        );
        assert_eq!(shown[4][0], [cut(1)]);
        assert_eq!(shown[4][2], [["1"]]);
        assert_eq!(shown[7][0], [cut(1)]);
        assert_eq!(shown[9][0], Vec::<Vec<String>>::new());
        let mut m = direct(&managed).await;
        for q in ["SELECT id, v FROM p ORDER BY id", "SELECT id, pid FROM c ORDER BY id"] {
            assert_eq!(rows(&mut n, q).await, rows(&mut m, q).await, "{q}");
        }
        assert_eq!(rows(&mut m, "SELECT id FROM c").await, Vec::<Vec<String>>::new());
    });
}
