//! Issue 18: a subset chosen by the PostgreSQL server itself (temp tables of chosen keys,
//! one join per relation) is exactly the subset Tether chooses by reading key sets, on
//! a schema with a cycle, a self-reference, a composite FK, a per-parent cap, NULL FKs
//! and an unindexed FK column; and where the server cannot (no TEMP privilege, one
//! connection, a `percent` target, SQLite) Tether chooses as before.

mod common;

use std::collections::BTreeMap;

use common::choose;
use tether_sync::subset::KeyReads;
use tether_sync::Job;
use tether_testkit::{TestDb, TestEngine as Engine};

/// Departments, employees (a manager self-reference; a department's head: a cycle),
/// orders of employees, order lines (composite key, capped per order), shipments of a
/// line (composite FK, unindexed), tags by text key.
const SCHEMA: &str = "
CREATE TABLE dept (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, head_id INT);
CREATE TABLE emp (id INT NOT NULL PRIMARY KEY, dept_id INT, manager_id INT, name VARCHAR(20) NOT NULL,
  CONSTRAINT emp_dept_fk FOREIGN KEY (dept_id) REFERENCES dept (id),
  CONSTRAINT emp_manager_fk FOREIGN KEY (manager_id) REFERENCES emp (id));
ALTER TABLE dept ADD CONSTRAINT dept_head_fk FOREIGN KEY (head_id) REFERENCES emp (id);
CREATE TABLE tag (code VARCHAR(10) NOT NULL PRIMARY KEY, label VARCHAR(20));
CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, emp_id INT NOT NULL, tag_code VARCHAR(10),
  CONSTRAINT orders_emp_fk FOREIGN KEY (emp_id) REFERENCES emp (id),
  CONSTRAINT orders_tag_fk FOREIGN KEY (tag_code) REFERENCES tag (code));
CREATE TABLE line (order_id INT NOT NULL, line_no INT NOT NULL, qty INT NOT NULL, PRIMARY KEY (order_id, line_no),
  CONSTRAINT line_order_fk FOREIGN KEY (order_id) REFERENCES orders (id));
CREATE TABLE shipment (id INT NOT NULL PRIMARY KEY, order_id INT, line_no INT, carrier VARCHAR(10),
  CONSTRAINT shipment_line_fk FOREIGN KEY (order_id, line_no) REFERENCES line (order_id, line_no));
INSERT INTO dept SELECT g, 'd' || g, NULL FROM generate_series(1, 12) g;
INSERT INTO emp SELECT g, CASE WHEN g % 17 = 0 THEN NULL ELSE 1 + g % 12 END,
  CASE WHEN g <= 12 THEN NULL ELSE 1 + (g * 7) % (g - 1) END, 'e' || g FROM generate_series(1, 400) g;
UPDATE dept SET head_id = 13 + (id * 31) % 380 WHERE id % 3 <> 0;
INSERT INTO tag SELECT 't' || g, 'tag ' || g FROM generate_series(1, 30) g;
INSERT INTO orders SELECT g, 1 + (g * 13) % 400, CASE WHEN g % 5 = 0 THEN NULL ELSE 't' || (1 + g % 30) END
  FROM generate_series(1, 2000) g;
INSERT INTO line SELECT o, n, o + n FROM generate_series(1, 2000) o, generate_series(1, 6) n WHERE n <= 1 + o % 6;
INSERT INTO shipment SELECT row_number() OVER (), order_id, CASE WHEN line_no = 2 THEN NULL ELSE line_no END, 'c'
  FROM line WHERE (order_id + line_no) % 3 = 0;
ANALYZE;
";

fn job(src: &TestDb, dest: &TestDb, rest: &str) -> String {
    format!(
        "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\n{rest}",
        src.url, dest.url
    )
}

/// The jobs compared: a parent table as target (children followed, a cap on one
/// relation), a child table as target with a `limit`, a target in the cycle.
const JOBS: [&str; 3] = [
    "[[subset.targets]]\ntable = \"dept\"\nwhere = \"id <= 2\"\n\
     [[subset.relations]]\nforeign_key = \"line_order_fk\"\nmax_children_per_parent = 3\n",
    "[[subset.targets]]\ntable = \"shipment\"\nwhere = \"id % 7 = 1\"\nlimit = 40\n",
    "[subset]\nmax_children_per_parent = 2\n[[subset.targets]]\ntable = \"emp\"\nwhere = \"id IN (5, 250)\"\n",
];

#[test]
fn a_subset_chosen_by_the_postgresql_server_is_the_subset_tether_chooses() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(SCHEMA);
    let dest = TestDb::create(Engine::Sqlite);
    for (n, rest) in JOBS.iter().enumerate() {
        let job = job(&src, &dest, rest);
        let (client, on_server) = choose(&job, KeyReads::InLists, 1);
        assert!(!on_server, "job {n}: IN lists are read by Tether");
        let (server, on_server) = choose(&job, KeyReads::Server, 2);
        assert!(on_server, "job {n}: the server chose the rows");
        let keys: usize = client.values().map(|(k, _)| k.len()).sum();
        assert!(keys >= 20, "job {n}: {keys} keys");
        assert_eq!(
            client.keys().collect::<Vec<_>>(),
            server.keys().collect::<Vec<_>>(),
            "job {n}"
        );
        for (t, chosen) in &client {
            assert_eq!(server[t].0.len(), chosen.0.len(), "job {n}: table {t}: keys");
            assert!(server[t] == *chosen, "job {n}: table {t} differs");
        }
    }
    // The cap bites: orders of the first job have up to 6 lines, 3 are taken.
    let (client, _) = choose(&job(&src, &dest, JOBS[0]), KeyReads::Server, 2);
    let lines = &client["public.line"].0;
    let mut per_order: BTreeMap<String, usize> = BTreeMap::new();
    for k in lines {
        *per_order.entry(format!("{:?}", k[0])).or_default() += 1;
    }
    assert_eq!(per_order.values().max(), Some(&3), "{per_order:?}");
    // A self-reference is followed both ways: employee 5's subordinates and managers.
    let (chosen, _) = choose(&job(&src, &dest, JOBS[2]), KeyReads::Server, 2);
    assert!(chosen["public.emp"].0.len() > 2, "{:?}", chosen["public.emp"].0);
}

#[test]
fn without_temp_tables_one_connection_or_a_percent_target_tether_chooses_the_same_rows() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(SCHEMA);
    let dest = TestDb::create(Engine::Sqlite);
    let want = choose(&job(&src, &dest, JOBS[0]), KeyReads::InLists, 1).0;
    // One connection: no second one to make temp tables on.
    assert_eq!(
        choose(&job(&src, &dest, JOBS[0]), KeyReads::Server, 1),
        (want.clone(), false)
    );
    // A role that may not create temp tables (as on a hot standby, where nothing may).
    let role = format!("{}_reader", src.name);
    src.exec(&format!(
        "CREATE ROLE {role} LOGIN; REVOKE TEMPORARY ON DATABASE {db} FROM PUBLIC; \
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};",
        db = src.name
    ));
    let url = src.url.replacen("://postgres@", &format!("://{role}@"), 1);
    assert_ne!(url, src.url, "the test URL names the postgres user");
    let reader = job(&src, &dest, JOBS[0]).replacen(&src.url, &url, 1);
    let got = choose(&reader, KeyReads::Server, 2);
    src.exec(&format!("DROP OWNED BY {role}"));
    tether_testkit::exec_url(Engine::Postgres, &src.url, &format!("DROP ROLE {role}"));
    assert_eq!(got, (want, false));
    // A percent target: a hash Tether computes.
    let percent = "[[subset.targets]]\ntable = \"orders\"\npercent = 30\n";
    let want = choose(&job(&src, &dest, percent), KeyReads::InLists, 1).0;
    assert_eq!(choose(&job(&src, &dest, percent), KeyReads::Server, 2), (want, false));
}

#[test]
fn a_sqlite_subset_is_chosen_by_tether() {
    let dir = tether_testkit::ScratchDir::new("subset_server_sqlite");
    let path = dir.path().join("demo.sqlite");
    tether_sync::demo::write(&path, 0.02, true).expect("demo");
    let dest = TestDb::create(Engine::Sqlite);
    let job = format!(
        "source = \"sqlite://{}\"\n[[destinations]]\nurl = \"{}\"\n\
         [[subset.targets]]\ntable = \"customer\"\nwhere = \"id <= 20\"\n",
        path.display(),
        dest.url
    );
    let (want, _) = choose(&job, KeyReads::InLists, 1);
    assert_eq!(choose(&job, KeyReads::Server, 2), (want, false));
}

/// A parent keyed by a column named `gen` (the temp tables' generation column was
/// `gen`), a capped child keyed by `rn` (the cap's rank alias was `rn`: 42702), and a
/// text column of the child naming its parent as a virtual FK (varchar = integer: 42883,
/// refused by the plan).
const NAMES: &str = "
CREATE TABLE par (gen INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL);
CREATE TABLE kid (rn INT NOT NULL PRIMARY KEY, par_gen INT NOT NULL, code VARCHAR(10),
  CONSTRAINT kid_par_fk FOREIGN KEY (par_gen) REFERENCES par (gen));
INSERT INTO par SELECT g, 'p' || g FROM generate_series(1, 20) g;
INSERT INTO kid SELECT g, 1 + g % 20, (1 + (g * 3) % 20)::text FROM generate_series(1, 200) g;
ANALYZE;
";

#[test]
fn key_columns_named_gen_or_rn_are_chosen_on_the_server_and_a_mistyped_virtual_fk_is_refused() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(NAMES);
    let dest = TestDb::create(Engine::Sqlite);
    let capped = "[subset]\nmax_children_per_parent = 3\n\
                  [[subset.targets]]\ntable = \"par\"\nwhere = \"gen <= 4\"\n";
    let (want, _) = choose(&job(&src, &dest, capped), KeyReads::InLists, 1);
    let (got, on_server) = choose(&job(&src, &dest, capped), KeyReads::Server, 2);
    assert!(on_server, "the server chose the rows");
    assert_eq!(got, want);
    let kids: usize = got
        .iter()
        .filter(|(t, _)| t.contains("kid"))
        .map(|(_, (k, _))| k.len())
        .sum();
    assert_eq!(kids, 12, "3 children of each of 4 parents: {got:?}");
    // The plan refuses a virtual FK pairing a varchar with an integer key (the server's
    // join, and the verifier's on a PostgreSQL destination, would fail with 42883).
    let mistyped = "[[virtual_foreign_keys]]\ntable = \"kid\"\ncolumns = [\"code\"]\nreferenced_table = \"par\"\n\
                    [[subset.targets]]\ntable = \"kid\"\nwhere = \"rn <= 5\"\n";
    let job = Job::parse("job.toml", &job(&src, &dest, mistyped), &|_| None).expect("job");
    let refused = tether_testkit::block_on(tether_sync::prepare(&job))
        .err()
        .expect("a plan error");
    assert!(
        refused.to_string().contains(
            "virtual foreign key `kid_code_vfk`: column `kid`.`code` (character varying(10)) cannot be compared \
             with `par`.`gen` (integer)"
        ),
        "{refused}"
    );
}

/// The source idles in the snapshot's transaction while the server chooses on the other
/// connection: a server ending idle transactions must not end it (the load reads on it
/// after). The target's `where` sleeps on the choosing connection for 2.5 s, past a
/// 1 s `idle_in_transaction_session_timeout`.
#[test]
fn the_source_stays_in_its_transaction_while_the_server_chooses() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(NAMES);
    src.exec(&format!(
        "ALTER DATABASE {} SET idle_in_transaction_session_timeout = '1s'",
        src.name
    ));
    let dest = TestDb::create(Engine::Sqlite);
    let slow = "[[subset.targets]]\ntable = \"par\"\nwhere = \"gen <= 2 AND (SELECT true FROM pg_sleep(2.5))\"\n";
    let job = Job::parse("job.toml", &job(&src, &dest, slow), &|_| None).expect("job");
    let alive = tether_testkit::block_on(async {
        let mut p = tether_sync::prepare(&job).await.expect("prepare");
        let id = p.source.begin_snapshot().await.expect("snapshot").expect("an id");
        let mut other = tether_connect::Connection::open_source(&job.source_url().expect("url"))
            .await
            .expect("another connection");
        other.join_snapshot(&id).await.expect("join");
        let mut others = vec![other];
        let subset =
            tether_sync::subset::compute_with(&mut p.source, &mut others, &p.schema, &p.rules, KeyReads::Server)
                .await
                .expect("subset");
        assert!(subset.on_server);
        p.source.query("SELECT count(*) FROM kid", &[]).await.map(|r| r.len())
    });
    assert_eq!(alive.expect("the source's transaction is alive"), 1);
}
