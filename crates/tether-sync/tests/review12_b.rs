//! The connection layer's findings of the twelfth review (B1, B2, B3, B3a, B7, B10,
//! B11, B17, B18), each run on the real servers with the reviewer's scenario: exact
//! rows and values afterwards, exact errors where the job must refuse.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

/// A job from `source` into `dest` with `options` for the destination (no `truncate`).
fn job_into(source: &str, dest: &TestDb, options: &str) -> String {
    format!(
        "source = \"{source}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n{options}\n",
        dest.url
    )
}

fn all(db: &TestDb, sql: &str) -> Vec<Vec<String>> {
    db.query(sql)
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or_else(|| "NULL".into())).collect())
        .collect()
}

fn one(db: &TestDb, sql: &str) -> String {
    all(db, sql)[0][0].clone()
}

fn written(report: &tether_sync::Report, table: &str) -> Vec<u64> {
    report
        .tables
        .iter()
        .find(|t| t.table == table)
        .unwrap_or_else(|| panic!("no table {table} in {report:?}"))
        .rows_written
        .clone()
}

/// B1: a role subject to a table's row-level security is refused (the session runs
/// with `row_security = off`, as pg_dump's), before anything is written, instead of
/// copying only the rows its policies show.
#[test]
fn a_postgres_source_role_under_row_level_security_is_refused_not_filtered() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "DO $$ BEGIN CREATE ROLE wc4_rls_reader LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         CREATE TABLE doc (id int PRIMARY KEY, tenant text NOT NULL, body text);
         INSERT INTO doc VALUES (1,'a','x'),(2,'b','y'),(3,'a','z');
         ALTER TABLE doc ENABLE ROW LEVEL SECURITY;
         CREATE POLICY p_tenant ON doc USING (tenant = current_setting('app.tenant', true)) WITH CHECK (true);
         GRANT SELECT ON doc TO wc4_rls_reader;",
    );
    let dest = TestDb::create(Engine::Postgres);
    let reader = src
        .url
        .replacen("postgres://postgres@", "postgres://wc4_rls_reader@", 1);
    assert_ne!(reader, src.url);
    let e = sync(&job_into(&reader, &dest, ""))
        .expect_err("a filtered read must not pass")
        .to_string();
    assert!(
        e.contains("table doc") && e.contains("row-level security") && e.contains("BYPASSRLS"),
        "{e}"
    );
    assert_eq!(
        one(&dest, "SELECT count(*) FROM pg_class WHERE relname = 'doc'"),
        "0",
        "nothing was written"
    );
    // The owner (not FORCE ROW LEVEL SECURITY) or a superuser reads every row.
    let report = sync(&job_into(&src.url, &dest, "")).expect("sync as postgres");
    assert!(report.ok, "{report:?}");
    assert_eq!(all(&dest, "SELECT id FROM doc ORDER BY id"), [["1"], ["2"], ["3"]]);
}

/// B1, destination side: the copy's FORCE ROW LEVEL SECURITY applies to the
/// destination role that owns the created table; the verification still counts every
/// row (not the rows the copied policy shows, a false "0 in the destination").
#[test]
fn a_copied_force_row_level_security_does_not_hide_the_rows_from_the_verification() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "DO $$ BEGIN CREATE ROLE wc4_rls_own LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         CREATE TABLE doc (id int PRIMARY KEY, tenant text NOT NULL, body text);
         INSERT INTO doc VALUES (1,'a','x'),(2,'b','y'),(3,'a','z');
         ALTER TABLE doc ENABLE ROW LEVEL SECURITY; ALTER TABLE doc FORCE ROW LEVEL SECURITY;
         CREATE POLICY p_tenant ON doc USING (tenant = current_setting('app.tenant', true)) WITH CHECK (true);",
    );
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(&format!(
        "ALTER DATABASE {0} OWNER TO wc4_rls_own; ALTER SCHEMA public OWNER TO wc4_rls_own",
        dest.name
    ));
    let owner = dest.url.replacen("postgres://postgres@", "postgres://wc4_rls_own@", 1);
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{owner}\"\n",
        src.url
    );
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(all(&dest, "SELECT id FROM doc ORDER BY id"), [["1"], ["2"], ["3"]]);
    assert_eq!(
        one(
            &dest,
            "SELECT relforcerowsecurity::text FROM pg_class WHERE relname = 'doc'"
        ),
        "true"
    );
}

/// B3a: a destination database set to `standard_conforming_strings = off` gets the
/// source's backslashes, through INSERT literals (`on_conflict = "update"`) and in a
/// copied DEFAULT.
#[test]
fn backslashes_reach_a_postgres_destination_without_standard_conforming_strings() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        r"CREATE TABLE s3 (id int PRIMARY KEY, v text);
          INSERT INTO s3 VALUES (1, 'C:\temp\new'), (2, 'tab\there'), (3, 'a\\b');
          CREATE TABLE dd (id int PRIMARY KEY, path text DEFAULT 'C:\temp\new'); INSERT INTO dd(id) VALUES (1);",
    );
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(&format!(
        "ALTER DATABASE {} SET standard_conforming_strings = off",
        dest.name
    ));
    let report = sync(&job_into(&src.url, &dest, "on_conflict = \"update\"")).expect("sync");
    assert!(report.ok, "{report:?}");
    let lengths = "SELECT id, length(v) FROM s3 ORDER BY id";
    assert_eq!(all(&dest, lengths), [["1", "11"], ["2", "9"], ["3", "4"]]);
    assert_eq!(all(&dest, lengths), all(&src, lengths));
    assert_eq!(
        one(&dest, "SELECT count(*) FROM s3 WHERE position(chr(9) in v) > 0"),
        "0"
    );
    dest.exec("SET standard_conforming_strings = on; INSERT INTO dd(id) VALUES (2)");
    assert_eq!(
        all(&dest, "SELECT id, path, length(path) FROM dd ORDER BY id"),
        [["1", r"C:\temp\new", "11"], ["2", r"C:\temp\new", "11"]]
    );
}

/// B3 and B17: MariaDB's ON DUPLICATE KEY UPDATE fires on any unique key; an update
/// must not overwrite a destination row with another key (PostgreSQL and SQLite
/// refuse the row), and `rows_written` counts only the rows a skip inserted.
#[test]
fn mariadb_update_never_overwrites_a_row_with_another_key_and_skip_counts_rows_inserted() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE q (id int PRIMARY KEY, code text UNIQUE NOT NULL, note text);
         INSERT INTO q VALUES (1,'a','s1'),(2,'b','s2');",
    );
    let extra = "[tables]\ninclude = [\"q\"]\n";
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE q (id int PRIMARY KEY, code varchar(255) UNIQUE NOT NULL, note text);
         INSERT INTO q VALUES (5,'a','d5'),(6,'b','d6');",
    );
    let text = format!("{}{extra}", job_into(&src.url, &dest, "on_conflict = \"update\""));
    let e = sync(&text).expect_err("the rows clash on code").to_string();
    assert!(e.contains("table q") && e.contains("unique key other than"), "{e}");
    assert_eq!(
        all(&dest, "SELECT id, code, note FROM q ORDER BY id"),
        [["5", "a", "d5"], ["6", "b", "d6"]],
        "no destination row overwritten"
    );
    // The same key: overwritten; a new key: inserted.
    dest.exec("DELETE FROM q; INSERT INTO q VALUES (1,'a','d1')");
    let report = sync(&text).expect("update");
    assert!(report.ok, "{report:?}");
    assert_eq!(written(&report, "q"), [2]);
    assert_eq!(
        all(&dest, "SELECT id, code, note FROM q ORDER BY id"),
        [["1", "a", "s1"], ["2", "b", "s2"]]
    );
    // B17: a skip run over rows the destination holds writes nothing, and says so.
    dest.exec("UPDATE q SET note = 'kept'");
    let skip = format!("{}{extra}", job_into(&src.url, &dest, "on_conflict = \"skip\""));
    let report = sync(&skip).expect("skip");
    assert!(report.ok, "{report:?}");
    assert_eq!(written(&report, "q"), [0]);
    src.exec("INSERT INTO q VALUES (3,'c','s3')");
    let report = sync(&skip).expect("skip");
    assert_eq!(written(&report, "q"), [1]);
    assert_eq!(
        all(&dest, "SELECT id, note FROM q ORDER BY id"),
        [["1", "kept"], ["2", "kept"], ["3", "s3"]]
    );
}

/// B10: sequences after the load: a descending identity, a sentinel key at the top of
/// a serial's range, and the sequences of the tables after them, all usable on the
/// copy (the job succeeds; no sequence is moved out of its range).
#[test]
fn sequences_are_moved_past_the_keys_in_their_direction_and_within_their_range() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE a (id serial PRIMARY KEY, v text);
         CREATE TABLE d (id int GENERATED BY DEFAULT AS IDENTITY (INCREMENT BY -1 MAXVALUE -1 START WITH -1) PRIMARY KEY, v text);
         CREATE SEQUENCE down INCREMENT BY -1 MAXVALUE -1;
         CREATE TABLE e (id int PRIMARY KEY DEFAULT nextval('down'), v text);
         ALTER SEQUENCE down OWNED BY e.id;
         CREATE TABLE z (id serial PRIMARY KEY, v text);
         INSERT INTO a(v) VALUES ('x'); INSERT INTO a VALUES (2147483647, 'sentinel');
         INSERT INTO d(v) VALUES ('x'),('y'); INSERT INTO e(v) VALUES ('x'),('y'),('z');
         INSERT INTO z(v) VALUES ('x'),('y');",
    );
    let dest = TestDb::create(Engine::Postgres);
    let report = sync(&job_into(&src.url, &dest, "")).expect("sync");
    assert!(report.ok && report.warnings.is_empty(), "{report:?}");
    for db in [&src, &dest] {
        db.exec(
            "INSERT INTO a(v) VALUES ('app'); INSERT INTO d(v) VALUES ('app'); INSERT INTO e(v) VALUES ('app');
             INSERT INTO z(v) VALUES ('app');",
        );
    }
    for (table, want) in [("a", "2"), ("d", "-3"), ("e", "-4"), ("z", "3")] {
        let sql = format!("SELECT id FROM {table} WHERE v = 'app'");
        assert_eq!(one(&dest, &sql), want, "table {table}");
        assert_eq!(one(&src, &sql), want, "table {table} on the source");
    }
}

/// B10: a sequence the destination role may not move (no UPDATE on it) does not fail
/// the committed copy: the report carries a warning naming it, the later sequences
/// are still moved, and the job is ok.
#[test]
fn a_sequence_the_destination_role_may_not_move_is_a_warning_not_a_failure() {
    let src = TestDb::create(Engine::Postgres);
    let tables = "CREATE TABLE a (id serial PRIMARY KEY, v text); CREATE TABLE z (id serial PRIMARY KEY, v text);";
    src.exec(&format!(
        "{tables} INSERT INTO a(v) VALUES ('x'),('y'); INSERT INTO z(v) VALUES ('x'),('y'),('w');"
    ));
    let dest = TestDb::create(Engine::Postgres);
    dest.exec(&format!(
        "DO $$ BEGIN CREATE ROLE wc4_seq_writer LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
         {tables}
         GRANT SELECT, INSERT, UPDATE ON a, z TO wc4_seq_writer; GRANT USAGE, UPDATE ON z_id_seq TO wc4_seq_writer;"
    ));
    let writer = dest
        .url
        .replacen("postgres://postgres@", "postgres://wc4_seq_writer@", 1);
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{writer}\"\non_conflict = \"skip\"\n",
        src.url
    );
    let report = sync(&text).expect("the copy is committed; a sequence is no failure");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("sequence a_id_seq") && report.warnings[0].contains("permission denied"),
        "{:?}",
        report.warnings
    );
    assert_eq!(all(&dest, "SELECT count(*) FROM a"), [["2"]]);
    dest.exec("INSERT INTO z(v) VALUES ('app')");
    assert_eq!(one(&dest, "SELECT id FROM z WHERE v = 'app'"), "4");
}

/// B11: a re-run into existing tables moves a sequence the tables share through
/// `DEFAULT nextval('seq')` (owned by none of them) past every copied key; MariaDB
/// sequences too.
#[test]
fn reruns_move_shared_sequences_and_mariadb_sequences_past_the_copied_keys() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE SEQUENCE shared_seq;
         CREATE TABLE s1 (id bigint PRIMARY KEY DEFAULT nextval('shared_seq'), v text);
         CREATE TABLE s2 (id bigint PRIMARY KEY DEFAULT nextval('shared_seq'), v text);
         INSERT INTO s1(v) VALUES ('a'),('b'); INSERT INTO s2(v) VALUES ('c'),('d'); INSERT INTO s1(v) VALUES ('e');",
    );
    let dest = TestDb::create(Engine::Postgres);
    for options in ["", "on_conflict = \"skip\"", "truncate = true"] {
        src.exec("INSERT INTO s2(v) VALUES ('j'),('k')");
        let report = sync(&job_into(&src.url, &dest, options)).expect("sync");
        assert!(report.ok && report.warnings.is_empty(), "{options}: {report:?}");
        let max = one(&src, "SELECT max(id) FROM s2");
        dest.exec("INSERT INTO s2(v) VALUES ('app')");
        assert!(
            one(&dest, "SELECT id FROM s2 WHERE v = 'app'").parse::<i64>().unwrap() > max.parse::<i64>().unwrap(),
            "{options}"
        );
        dest.exec("DELETE FROM s2 WHERE v = 'app'");
    }

    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE SEQUENCE seq2 NOCACHE;
         CREATE TABLE k (id bigint PRIMARY KEY DEFAULT NEXTVAL(seq2), v text);
         INSERT INTO k(v) VALUES ('a'),('b');",
    );
    let dest = TestDb::create(Engine::Mysql);
    let text = job_into(&src.url, &dest, "on_conflict = \"skip\"");
    assert!(sync(&text).expect("first").ok);
    src.exec("INSERT INTO k(v) VALUES ('c'),('d'),('e')");
    let report = sync(&text).expect("again");
    assert!(report.ok && report.warnings.is_empty(), "{report:?}");
    dest.exec("INSERT INTO k(v) VALUES ('app')");
    assert_eq!(one(&dest, "SELECT id FROM k WHERE v = 'app'"), "6");
}

/// B18: a re-run with skip or update into a table whose primary key is DEFERRABLE
/// (which `ON CONFLICT` cannot use) keeps or overwrites the rows by their key.
#[test]
fn reruns_into_a_table_with_a_deferrable_primary_key_skip_and_update() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE p (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED, v text, d date);
         INSERT INTO p VALUES (1,'a','2020-01-01'),(2,'b',NULL);",
    );
    let dest = TestDb::create(Engine::Postgres);
    assert!(sync(&job_into(&src.url, &dest, "")).expect("first").ok);
    assert_eq!(
        one(
            &dest,
            "SELECT condeferrable::text FROM pg_constraint WHERE conname = 'p_pkey'"
        ),
        "true"
    );
    src.exec("UPDATE p SET v = 'a2', d = '2021-02-03' WHERE id = 1; INSERT INTO p VALUES (3,'c','2022-03-04')");
    let report = sync(&job_into(&src.url, &dest, "on_conflict = \"skip\"")).expect("skip");
    assert!(report.ok, "{report:?}");
    assert_eq!(written(&report, "p"), [1]);
    assert_eq!(
        all(&dest, "SELECT id, v, d::text FROM p ORDER BY id"),
        [["1", "a", "2020-01-01"], ["2", "b", "NULL"], ["3", "c", "2022-03-04"]]
    );
    src.exec("INSERT INTO p VALUES (4,'d',NULL)");
    let report = sync(&job_into(&src.url, &dest, "on_conflict = \"update\"")).expect("update");
    assert!(report.ok, "{report:?}");
    assert_eq!(written(&report, "p"), [4]);
    assert_eq!(
        all(&dest, "SELECT id, v, d::text FROM p ORDER BY id"),
        all(&src, "SELECT id, v, d::text FROM p ORDER BY id")
    );
}

/// B2: a MariaDB copy's triggers, functions and views name the copy's tables, not
/// the source database's (SHOW CREATE keeps `source_db.table` as written).
#[test]
fn mariadb_copied_triggers_functions_and_views_never_point_at_the_source() {
    let src = TestDb::create(Engine::Mysql);
    let db = &src.name;
    src.exec(&format!(
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         CREATE TABLE audit (id int AUTO_INCREMENT PRIMARY KEY, t_id int, note varchar(50));
         CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW INSERT INTO {db}.audit (t_id, note) VALUES (NEW.id, 'ins');
         CREATE FUNCTION f(x int) RETURNS int DETERMINISTIC RETURN (SELECT count(*) FROM `{db}`.t WHERE v = x);
         CREATE VIEW vf AS SELECT f(2) AS c, '{db}.t' AS label;
         INSERT INTO t VALUES (1,1),(2,2);"
    ));
    let dest = TestDb::create(Engine::Mysql);
    let report = sync(&job_into(&src.url, &dest, "")).expect("sync");
    assert!(report.ok, "{report:?}");
    dest.exec("INSERT INTO t VALUES (3,3), (4,2)");
    assert_eq!(
        all(&src, "SELECT t_id, note FROM audit ORDER BY id"),
        [["1", "ins"], ["2", "ins"]]
    );
    assert_eq!(
        all(&dest, "SELECT t_id, note FROM audit ORDER BY id"),
        [["1", "ins"], ["2", "ins"], ["3", "ins"], ["4", "ins"]]
    );
    assert_eq!(
        all(&dest, "SELECT c, label FROM vf"),
        [["2".to_string(), format!("{db}.t")]]
    );
    assert_eq!(one(&src, "SELECT c FROM vf"), "1");
    for (kind, name) in [("TRIGGER", "trg"), ("FUNCTION", "f"), ("VIEW", "vf")] {
        let shown = all(&dest, &format!("SHOW CREATE {kind} {name}"));
        let body = shown[0].iter().skip(1).cloned().collect::<Vec<_>>().join(" ");
        let named = body.replace(&format!("'{db}.t'"), "");
        assert!(
            !named.contains(&format!("{db}.")) && !named.contains(&format!("`{db}`")),
            "{kind} {name}: {body}"
        );
    }
}

/// B7: a MariaDB source login without privileges on a table another one references:
/// refused, naming both, instead of copying the child without its key.
#[test]
fn a_mariadb_source_login_that_cannot_see_a_referenced_table_is_refused() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(&format!(
        "CREATE TABLE p (id int PRIMARY KEY, v text);
         CREATE TABLE c (id int PRIMARY KEY, p_id int REFERENCES p(id));
         INSERT INTO p VALUES (1,'a'),(2,'b'); INSERT INTO c VALUES (1,1),(2,2);
         CREATE USER IF NOT EXISTS wc4_u2@'%';
         GRANT SELECT ON {}.c TO wc4_u2@'%';",
        src.name
    ));
    let login = src.url.replacen("mysql://root@", "mysql://wc4_u2@", 1);
    assert_ne!(login, src.url);
    let dest = TestDb::create(Engine::Sqlite);
    let e = sync(&job_into(&login, &dest, "")).expect_err("p is hidden").to_string();
    src.exec("DROP USER wc4_u2@'%'");
    assert!(
        e.contains("table c's foreign key c_ibfk_1 references table p") && e.contains("no privileges on p"),
        "{e}"
    );
}
