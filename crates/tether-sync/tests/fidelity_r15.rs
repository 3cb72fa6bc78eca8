//! MariaDB sources (the fifteenth review, G #1-#7): sequences a trigger or view uses,
//! prefix / DESC / WITHOUT OVERLAPS keys and the AUTO_INCREMENT counter on a PostgreSQL
//! copy, and plan lines that say what a copy leaves out.

mod common;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

/// Asserts that `db` refuses `sql` with `code` (SQLSTATE, or MariaDB's error number).
fn assert_refused(db: &TestDb, sql: &str, code: &str) {
    let err = std::panic::catch_unwind(|| db.exec(sql)).expect_err(sql);
    let text = err.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(text.contains(code), "{sql}: {text}");
}

/// How the plan of `text` loads its first destination, and why not staged.
fn load(text: &str) -> tether_sync::execute::LoadPlan {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    let plan = tether_testkit::block_on(async { tether_sync::prepare(&job).await.expect("plan").plan });
    plan.destinations[0].load.clone().expect("the destination was read")
}

fn table(db: &TestDb, sql: &str) -> Vec<Vec<String>> {
    db.query(sql)
        .into_iter()
        .map(|r| r.iter().map(norm).collect())
        .collect()
}

/// G #3: a sequence only a trigger (`NEXT VALUE FOR`) and a view read is created on the
/// MariaDB copy at the source's state; before, the trigger was created without it and
/// every INSERT into the copy failed (1146), and the view's CREATE failed the run.
#[test]
fn a_sequence_used_by_a_trigger_or_a_view_is_created_on_a_mariadb_copy() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE SEQUENCE seq_t START WITH 100;
         CREATE SEQUENCE seq_v START WITH 7;
         CREATE TABLE tk (id INT PRIMARY KEY, n BIGINT);
         CREATE TRIGGER tk_bi BEFORE INSERT ON tk FOR EACH ROW SET NEW.n = NEXT VALUE FOR seq_t;
         INSERT INTO tk (id) VALUES (1),(2);
         CREATE VIEW v_seq AS SELECT next_not_cached_value AS nv FROM seq_v;",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    assert_eq!(item(&plan, "sequence", "seq_t (used by tk)").action, Action::Created);
    assert_eq!(
        item(&plan, "sequence", "seq_v (read by view v_seq)").action,
        Action::Created
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        table(&dest, "SELECT id, n FROM tk ORDER BY id"),
        [["1", "100"], ["2", "101"]]
    );
    dest.exec("INSERT INTO tk (id) VALUES (3)");
    // The source handed out 100 and 101 and cached up to 1100: the copy goes on past it.
    assert_eq!(one(&dest, "SELECT n FROM tk WHERE id = 3"), "1100");
    assert_eq!(one(&dest, "SELECT nv FROM v_seq"), "7");
}

const INDEXES: &str = "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public' \
    AND indexname NOT LIKE '%pkey' ORDER BY 1";

/// G #1, G #6 (DESC): a MariaDB prefix index on TEXT is an index on `substr(body, 1,
/// 20)` on the PostgreSQL copy, a DESC part stays DESC; before, the index took the
/// whole column and the run failed on a 9,600-byte value (54000), the plan saying
/// `created index`.
#[test]
fn a_mariadb_prefix_index_keeps_its_prefix_on_postgres() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT, qty INT, b BLOB, KEY k_body (body(20)), \
           KEY k_desc (qty DESC, id), KEY k_b (b(4)));
         INSERT INTO notes VALUES (1, REPEAT('x', 9600), 3, 'abcdef'), (2, 'short', 4, NULL);
         CREATE TABLE `user` (id INT PRIMARY KEY, name TEXT, KEY k_user (name(5)));",
    );
    let dest = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    let k = item(&plan, "index", "notes.k_body");
    assert_eq!(
        (k.action, k.from.as_deref(), k.to.as_deref()),
        (Action::Mapped, Some("(body(20))"), Some("(substr(\"body\", 1, 20))"))
    );
    let k = item(&plan, "index", "notes.k_desc");
    assert_eq!(
        (k.action, k.from.as_deref(), k.to.as_deref()),
        (Action::Mapped, Some("(qty DESC, id)"), Some("(\"qty\" DESC, \"id\")"))
    );
    // Built in a staging schema: the definitions are in the form staging rewrites.
    let how = load(&text);
    assert_eq!(how.method, tether_sync::execute::LoadMethod::Staging, "{how:?}");
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        table(&dest, INDEXES),
        [
            ["k_b", "CREATE INDEX k_b ON public.notes USING btree (substr(b, 1, 4))"],
            [
                "k_body",
                "CREATE INDEX k_body ON public.notes USING btree (substr(body, 1, 20))"
            ],
            [
                "k_desc",
                "CREATE INDEX k_desc ON public.notes USING btree (qty DESC, id)"
            ],
            [
                "k_user",
                "CREATE INDEX k_user ON public.\"user\" USING btree (substr(name, 1, 5))"
            ],
        ]
    );
    assert_eq!(one(&dest, "SELECT length(body) FROM notes WHERE id = 1"), "9600");
}

/// G #2: a UNIQUE prefix key is a unique index on the prefix and `UNIQUE (room, p
/// WITHOUT OVERLAPS)` an EXCLUDE constraint over the period's daterange on the
/// PostgreSQL copy, which refuses what the source refuses; before, both were plain
/// UNIQUE keys of the whole columns, reported `created`, which took such rows.
#[test]
fn a_mariadb_unique_prefix_and_without_overlaps_key_refuse_on_postgres_what_the_source_refuses() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE up (id INT PRIMARY KEY, name VARCHAR(100), UNIQUE KEY uq_pref (name(3)));
         INSERT INTO up VALUES (1,'abcdef'),(2,'xyz1');
         CREATE TABLE ap (id INT, s DATE, e DATE, room INT, PERIOD FOR p(s,e), PRIMARY KEY (id),
                          UNIQUE KEY u_room (room, p WITHOUT OVERLAPS));
         INSERT INTO ap VALUES (1,'2024-01-01','2024-02-01',7),(2,'2024-02-01','2024-03-01',7);",
    );
    let dest = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    let k = item(&plan, "unique key", "up.uq_pref");
    assert_eq!(
        (k.action, k.from.as_deref(), k.to.as_deref()),
        (
            Action::Mapped,
            Some("UNIQUE (name(3))"),
            Some("a unique index on (substr(\"name\", 1, 3))")
        )
    );
    let k = item(&plan, "unique key", "ap.u_room");
    assert_eq!(
        (k.action, k.from.as_deref(), k.to.as_deref()),
        (
            Action::Mapped,
            Some("UNIQUE (room, p WITHOUT OVERLAPS)"),
            Some("EXCLUDE USING gist (\"room\" WITH =, daterange(\"s\", \"e\") WITH &&)")
        )
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_refused(&src, "INSERT INTO up VALUES (3,'abcZZZ')", "1062");
    assert_refused(&dest, "INSERT INTO up VALUES (3,'abcZZZ')", "23505");
    assert_refused(&src, "INSERT INTO ap VALUES (3,'2024-01-15','2024-01-20',7)", "1062");
    assert_refused(&dest, "INSERT INTO ap VALUES (3,'2024-01-15','2024-01-20',7)", "23P01");
    // Adjoining periods and another room are taken by both.
    for db in [&src, &dest] {
        db.exec("INSERT INTO ap VALUES (4,'2024-03-01','2024-04-01',7), (5,'2024-01-15','2024-01-20',8)");
        db.exec("INSERT INTO up VALUES (6,'abd')");
    }
    assert_eq!(
        table(
            &dest,
            "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'ap'::regclass \
             AND contype = 'x'"
        ),
        [["u_room", "EXCLUDE USING gist (room WITH =, daterange(s, e) WITH &&)"]]
    );
}

/// G #4: the PostgreSQL copy's identity goes on from the source's AUTO_INCREMENT (ids
/// of deleted rows, a declared start) where that is past the copied keys; before, it
/// went on from the largest copied key and handed out ids the source never gives again.
#[test]
fn the_auto_increment_counter_carries_to_the_postgres_identity() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10));
         INSERT INTO orders (v) VALUES ('a'),('b'),('c'),('d'),('e');
         DELETE FROM orders WHERE id IN (4,5);
         CREATE TABLE parent (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT) AUTO_INCREMENT=500;
         INSERT INTO parent (id, v) VALUES (1,1),(2,2),(3,3);
         CREATE TABLE child (id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY) AUTO_INCREMENT=9000;
         INSERT INTO child VALUES (9001),(9002);
         CREATE TABLE fresh (id INT AUTO_INCREMENT PRIMARY KEY);",
    );
    let dest = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    let k = item(&plan, "identity", "orders.id");
    assert_eq!(
        (k.action, k.from.as_deref(), k.to.as_deref()),
        (
            Action::Mapped,
            Some("AUTO_INCREMENT=6"),
            Some("identity sequence orders_id_seq continuing at 6")
        )
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    for (table, next) in [("orders", "6"), ("parent", "500"), ("child", "9003"), ("fresh", "1")] {
        let values = if table == "orders" {
            "(v) VALUES ('new')"
        } else {
            "DEFAULT VALUES"
        };
        let sql = format!("INSERT INTO {table} {values} RETURNING id");
        assert_eq!(one(&dest, &sql), next, "{table}");
    }
}

/// G #5: what a MariaDB copy leaves out is in its plan: an event, routines no copied
/// trigger or view calls, a versioned table's history rows. Before, none was said.
#[test]
fn a_mariadb_copys_plan_names_the_events_routines_and_history_it_leaves_out() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE audit (id INT PRIMARY KEY, at DATETIME);
         CREATE TABLE vers (id INT PRIMARY KEY, v VARCHAR(20)) WITH SYSTEM VERSIONING;
         INSERT INTO vers VALUES (1,'a'); UPDATE vers SET v = 'b';
         CREATE PROCEDURE p_standalone() SELECT COUNT(*) FROM audit;
         CREATE FUNCTION f_standalone() RETURNS INT RETURN 42;
         CREATE EVENT ev_clean ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit;",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    let skipped = |kind: &str, name: &str| {
        let i = item(&plan, kind, name);
        assert_eq!(i.action, Action::Skipped, "{i:?}");
        i.reason.clone().unwrap_or_default()
    };
    assert_eq!(
        skipped("event", "ev_clean"),
        "events are not copied: the copy would run the source's schedule on its own rows"
    );
    let unused = "no trigger or view the job copies calls it; a copy creates only the routines those use";
    assert_eq!(skipped("procedure", "p_standalone"), unused);
    assert_eq!(skipped("function", "f_standalone"), unused);
    assert_eq!(
        skipped("history rows", "vers"),
        "the table is created versioned with the current rows; its history starts at the load"
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        one(&dest, "SELECT COUNT(*) FROM vers FOR SYSTEM_TIME ALL"),
        "1",
        "the history is not copied"
    );
}

/// G #7: a routine that a left-out trigger and a created view call is reported created
/// for the view; before, the plan said `skipped function f_double (only triggers left
/// out here run it)` and the run created it.
#[test]
fn a_routine_a_created_view_calls_is_not_reported_skipped_with_a_left_out_trigger() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100));
         CREATE TABLE parent (id INT PRIMARY KEY, qty INT);
         CREATE FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC RETURN x*2;
         CREATE TRIGGER trg_ai AFTER INSERT ON parent FOR EACH ROW
           INSERT INTO audit (what) VALUES (CONCAT('second ', f_double(NEW.id)));
         CREATE VIEW v_parent AS SELECT id, f_double(qty) AS dq FROM parent;
         INSERT INTO parent VALUES (1, 4);",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&dest], "[tables]\nexclude = [\"audit\"]\n");
    let plan = items(&text);
    assert_eq!(item(&plan, "trigger", "parent.trg_ai").action, Action::Skipped);
    assert_eq!(
        item(&plan, "function", "f_double (used by view v_parent)").action,
        Action::Created
    );
    assert!(
        !plan.iter().any(|i| i.kind == "function" && i.action == Action::Skipped),
        "{plan:#?}"
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(one(&dest, "SELECT dq FROM v_parent"), "8");
}

/// G #6: on a PostgreSQL copy an UNSIGNED column and a SET keep CHECKs refusing what
/// the source's types refuse, a partitioned table is said to become one table, YEAR's
/// text is said; before, the copy took -1 and 'zzz' and the plan said nothing of these.
#[test]
fn mariadb_unsigned_and_set_columns_keep_their_range_on_postgres() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE ty (id INT PRIMARY KEY, s SET('a','b','c') NOT NULL DEFAULT 'a,b', y YEAR,
           u INT UNSIGNED, d DECIMAL(6,2) UNSIGNED);
         INSERT INTO ty VALUES (1, 'a,c', 2024, 5, 1.5), (2, '', NULL, NULL, NULL);
         CREATE TABLE pl (id INT, region INT, PRIMARY KEY (id, region))
           PARTITION BY LIST (region) (PARTITION pa VALUES IN (1,2), PARTITION pb VALUES IN (3,4));",
    );
    let dest = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&dest], "");
    let plan = items(&text);
    let reason = |name: &str| item(&plan, "column", name).reason.clone().unwrap_or_default();
    assert_eq!(
        reason("ty.u"),
        "with CHECK ty_u_check: from 0 to 4294967295, as UNSIGNED"
    );
    assert_eq!(
        reason("ty.s"),
        "with CHECK ty_s_check: a comma-separated list of its members"
    );
    assert_eq!(
        reason("ty.y"),
        "postgres has no YEAR type: the values are copied as their text ('2024')"
    );
    let p = item(&plan, "partitioning", "pl");
    assert_eq!(
        (p.action, p.from.as_deref(), p.to.as_deref()),
        (Action::Mapped, Some("partitioned table"), Some("one plain table"))
    );
    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        table(&dest, "SELECT id, s, y, u, d FROM ty ORDER BY id"),
        [["1", "a,c", "2024", "5", "1.5"], ["2", "", "NULL", "NULL", "NULL"]]
    );
    for sql in [
        "INSERT INTO ty (id, u) VALUES (3, -1)",
        "INSERT INTO ty (id, d) VALUES (3, -0.5)",
        "INSERT INTO ty (id, s) VALUES (3, 'zzz')",
        "INSERT INTO ty (id, s) VALUES (3, 'a,zzz')",
    ] {
        assert_refused(&dest, sql, "23514");
    }
    dest.exec("INSERT INTO ty (id, s, u) VALUES (3, 'b,c', 0)");
}
