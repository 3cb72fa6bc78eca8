//! `tether sync` against real SQLite, PostgreSQL and MariaDB. Every test checks the
//! destination with its own SQL: exact row sets, and zero orphans per foreign key.

use std::collections::BTreeMap;

use tether_sync::{Job, Progress, Report};
use tether_testkit::{TestDb, TestEngine as Engine};

const ENGINES: [Engine; 3] = [Engine::Sqlite, Engine::Postgres, Engine::Mysql];

/// Tables and their key columns, in an order that lists parents before children.
const TABLES: &[(&str, &str)] = &[
    ("region", "id"),
    ("product", "id"),
    ("employee", "id"),
    ("team", "id"),
    ("player", "id"),
    ("customer", "id"),
    ("address", "id"),
    ("orders", "id"),
    ("order_item", "order_id, line_no"),
    ("shipment", "id"),
];

const CREATE: &str = "
CREATE TABLE region (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL);
CREATE TABLE product (id INT NOT NULL PRIMARY KEY, sku VARCHAR(20) NOT NULL, price DECIMAL(10,2) NOT NULL,
  CONSTRAINT product_sku_key UNIQUE (sku));
CREATE TABLE employee (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, manager_id INT NULL {employee_fks});
CREATE TABLE team (id INT NOT NULL PRIMARY KEY, captain_id INT NOT NULL {team_fks});
CREATE TABLE player (id INT NOT NULL PRIMARY KEY, team_id INT NOT NULL, name VARCHAR(20) NOT NULL {player_fks});
CREATE TABLE customer (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, region_id INT NOT NULL,
  default_address_id INT NULL {customer_fks});
CREATE TABLE address (id INT NOT NULL PRIMARY KEY, customer_id INT NOT NULL, city VARCHAR(20) NOT NULL {address_fks});
CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer_id INT NOT NULL, placed VARCHAR(10) NOT NULL {orders_fks});
CREATE TABLE order_item (order_id INT NOT NULL, line_no INT NOT NULL, product_sku VARCHAR(20) NOT NULL, qty INT NOT NULL,
  PRIMARY KEY (order_id, line_no) {order_item_fks});
CREATE TABLE shipment (id INT NOT NULL PRIMARY KEY, order_id INT NOT NULL, line_no INT NOT NULL {shipment_fks});
";

/// (table, constraint) of every FK; SQLite declares them inline, the others add them
/// after the data.
const FKS: &[(&str, &str)] = &[
    ("employee", "CONSTRAINT employee_manager_fk FOREIGN KEY (manager_id) REFERENCES employee (id) ON DELETE SET NULL"),
    ("team", "CONSTRAINT team_captain_fk FOREIGN KEY (captain_id) REFERENCES player (id)"),
    ("player", "CONSTRAINT player_team_fk FOREIGN KEY (team_id) REFERENCES team (id) ON DELETE CASCADE"),
    ("customer", "CONSTRAINT customer_region_fk FOREIGN KEY (region_id) REFERENCES region (id)"),
    ("customer", "CONSTRAINT customer_default_address_fk FOREIGN KEY (default_address_id) REFERENCES address (id) ON DELETE SET NULL"),
    ("address", "CONSTRAINT address_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE"),
    ("orders", "CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON UPDATE CASCADE"),
    ("order_item", "CONSTRAINT order_item_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE"),
    ("order_item", "CONSTRAINT order_item_product_fk FOREIGN KEY (product_sku) REFERENCES product (sku) ON UPDATE CASCADE"),
    ("shipment", "CONSTRAINT shipment_item_fk FOREIGN KEY (order_id, line_no) REFERENCES order_item (order_id, line_no)"),
];

/// Employee 2 reports to employee 3, a higher id: read in key order, a child comes
/// before its parent. Customers and addresses point at each other (nullable edge);
/// teams and players do with NOT NULL keys on both sides.
const DATA: &str = "
INSERT INTO region VALUES (1, 'north'), (2, 'south');
INSERT INTO product VALUES (1, 'A-1', 10.25), (2, 'B-2', 3.5), (3, 'C-3', 7.75);
INSERT INTO employee VALUES (1, 'boss', NULL), (3, 'lead', 1), (2, 'dev', 3), (4, 'intern', 2);
INSERT INTO team VALUES (1, 1), (2, 3);
INSERT INTO player VALUES (1, 1, 'ann'), (2, 1, 'bob'), (3, 2, 'cy');
INSERT INTO customer VALUES (1, 'acme', 1, 1), (2, 'bolt', 2, 3), (3, 'core', 1, NULL);
INSERT INTO address VALUES (1, 1, 'lyon'), (2, 1, 'nice'), (3, 2, 'oslo');
INSERT INTO orders VALUES (10, 1, '2023-05-01'), (11, 1, '2024-02-01'), (12, 2, '2024-03-01'), (13, 3, '2022-01-01');
INSERT INTO order_item VALUES (10, 1, 'A-1', 2), (10, 2, 'B-2', 1), (11, 1, 'B-2', 5), (12, 1, 'C-3', 1), (13, 1, 'A-1', 1);
INSERT INTO shipment VALUES (100, 10, 1), (101, 12, 1), (102, 13, 1);
";

fn ddl(engine: Engine) -> String {
    let mut create = CREATE.to_string();
    for (table, _) in TABLES {
        let inline: Vec<&str> = FKS.iter().filter(|(t, _)| t == table).map(|(_, c)| *c).collect();
        let text = if engine == Engine::Sqlite && !inline.is_empty() {
            format!(", {}", inline.join(", "))
        } else {
            String::new()
        };
        create = create.replace(&format!("{{{table}_fks}}"), &text);
    }
    match engine {
        Engine::Sqlite => format!("PRAGMA foreign_keys = OFF;\n{create}{DATA}"),
        _ => {
            let adds: String = FKS.iter().map(|(t, c)| format!("ALTER TABLE {t} ADD {c};\n")).collect();
            format!("{create}{DATA}{adds}")
        }
    }
}

fn source(engine: Engine) -> TestDb {
    let db = TestDb::create(engine);
    db.exec(&ddl(engine));
    db
}

/// Values as the tests compare them: decimals as numbers, MariaDB's datetime zeros
/// dropped.
fn norm(v: &Option<String>) -> String {
    match v {
        None => "NULL".into(),
        Some(s) if s.contains('.') && s.parse::<f64>().is_ok() => format!("{}", s.parse::<f64>().expect("number")),
        Some(s) => s.strip_suffix(".000000").unwrap_or(s).to_string(),
    }
}

fn rows(db: &TestDb, table: &str, order: &str) -> Vec<Vec<String>> {
    db.query(&format!("SELECT * FROM {table} ORDER BY {order}"))
        .iter()
        .map(|r| r.iter().map(norm).collect())
        .collect()
}

fn keys(db: &TestDb, table: &str, key: &str) -> Vec<String> {
    db.query(&format!("SELECT {key} FROM {table} ORDER BY {key}"))
        .iter()
        .map(|r| r.iter().map(norm).collect::<Vec<_>>().join(","))
        .collect()
}

/// Orphans per FK, counted with plain SQL on the destination.
fn orphans(db: &TestDb) -> BTreeMap<&'static str, i64> {
    let checks: &[(&str, &str)] = &[
        ("employee_manager_fk", "SELECT count(*) FROM employee c WHERE c.manager_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM employee p WHERE p.id = c.manager_id)"),
        ("team_captain_fk", "SELECT count(*) FROM team c WHERE NOT EXISTS (SELECT 1 FROM player p WHERE p.id = c.captain_id)"),
        ("player_team_fk", "SELECT count(*) FROM player c WHERE NOT EXISTS (SELECT 1 FROM team p WHERE p.id = c.team_id)"),
        ("customer_region_fk", "SELECT count(*) FROM customer c WHERE NOT EXISTS (SELECT 1 FROM region p WHERE p.id = c.region_id)"),
        ("customer_default_address_fk", "SELECT count(*) FROM customer c WHERE c.default_address_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM address p WHERE p.id = c.default_address_id)"),
        ("address_customer_fk", "SELECT count(*) FROM address c WHERE NOT EXISTS (SELECT 1 FROM customer p WHERE p.id = c.customer_id)"),
        ("orders_customer_fk", "SELECT count(*) FROM orders c WHERE NOT EXISTS (SELECT 1 FROM customer p WHERE p.id = c.customer_id)"),
        ("order_item_order_fk", "SELECT count(*) FROM order_item c WHERE NOT EXISTS (SELECT 1 FROM orders p WHERE p.id = c.order_id)"),
        ("order_item_product_fk", "SELECT count(*) FROM order_item c WHERE NOT EXISTS (SELECT 1 FROM product p WHERE p.sku = c.product_sku)"),
        ("shipment_item_fk", "SELECT count(*) FROM shipment c WHERE NOT EXISTS (SELECT 1 FROM order_item p WHERE p.order_id = c.order_id AND p.line_no = c.line_no)"),
    ];
    checks
        .iter()
        .map(|(name, sql)| {
            (
                *name,
                db.query(sql)[0][0]
                    .as_deref()
                    .expect("count")
                    .parse::<i64>()
                    .expect("number"),
            )
        })
        .filter(|(_, n)| *n != 0)
        .collect()
}

struct Quiet;

impl Progress for Quiet {
    fn phase(&self, _: &str) {}
    fn table_started(&self, _: &str, _: u64) {}
    fn rows(&self, _: &str, _: u64) {}
    fn table_done(&self, _: &str, _: u64, _: f64) {}
}

fn sync(job: &str) -> Result<Report, tether_sync::SyncError> {
    let job = Job::parse("job.toml", job, &|_| None)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let prepared = tether_sync::prepare(&job).await?;
            tether_sync::run(&job, prepared, &Quiet).await
        })
}

fn job(source: &TestDb, dests: &[&TestDb], extra: &str) -> String {
    let mut s = format!("source = \"{}\"\n", source.url);
    for d in dests {
        s.push_str(&format!("[[destinations]]\nurl = \"{}\"\ntruncate = true\n", d.url));
    }
    s.push_str(extra);
    s
}

#[test]
fn full_copies_between_every_pair_of_engines_keep_every_row_and_key() {
    for src_engine in ENGINES {
        let src = source(src_engine);
        let dests: Vec<TestDb> = ENGINES.into_iter().map(TestDb::create).collect();
        let report =
            sync(&job(&src, &dests.iter().collect::<Vec<_>>(), "")).unwrap_or_else(|e| panic!("{src_engine}: {e}"));
        assert!(report.ok, "{src_engine}: {report:?}");
        for dest in &dests {
            let pair = format!("{} -> {}", src_engine, dest.engine);
            for (table, key) in TABLES {
                assert_eq!(rows(dest, table, key), rows(&src, table, key), "{pair}: table {table}");
            }
            assert_eq!(orphans(dest), BTreeMap::new(), "{pair}");
        }
    }
}

fn expect_keys(db: &TestDb, expected: &[(&str, &[&str])], what: &str) {
    for (table, want) in expected {
        let key = TABLES.iter().find(|(t, _)| t == table).expect("known table").1;
        assert_eq!(
            keys(db, table, key),
            want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "{what}: table {table}"
        );
    }
    assert_eq!(orphans(db), BTreeMap::new(), "{what}");
}

#[test]
fn a_subset_from_a_parent_table_takes_children_downwards_and_parents_always() {
    for engine in ENGINES {
        let src = source(engine);
        let dest = TestDb::create(Engine::Sqlite);
        let report = sync(&job(
            &src,
            &[&dest],
            "[[subset.targets]]\ntable = \"customer\"\nwhere = \"id = 1\"\n",
        ))
        .unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok);
        expect_keys(
            &dest,
            &[
                ("customer", &["1"]),
                ("address", &["1", "2"]),
                ("orders", &["10", "11"]),
                ("order_item", &["10,1", "10,2", "11,1"]),
                ("shipment", &["100"]),
                ("product", &["1", "2"]),
                ("region", &["1"]),
                // Not connected to customer: copied whole.
                ("employee", &["1", "2", "3", "4"]),
                ("team", &["1", "2"]),
                ("player", &["1", "2", "3"]),
            ],
            &format!("{engine}"),
        );
    }
}

#[test]
fn a_subset_from_a_child_table_pulls_its_parents_through_the_cycle() {
    for engine in ENGINES {
        let src = source(engine);
        let dest = TestDb::create(engine);
        let report = sync(&job(
            &src,
            &[&dest],
            "[[subset.targets]]\ntable = \"orders\"\nwhere = \"placed >= '2024-01-01'\"\n",
        ))
        .unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok);
        expect_keys(
            &dest,
            &[
                ("orders", &["11", "12"]),
                ("order_item", &["11,1", "12,1"]),
                ("shipment", &["101"]),
                ("customer", &["1", "2"]),
                // Default addresses of the two customers, not their other addresses.
                ("address", &["1", "3"]),
                ("product", &["2", "3"]),
                ("region", &["1", "2"]),
            ],
            &format!("{engine}"),
        );
    }
}

#[test]
fn caps_limits_and_unfollowed_children() {
    let src = source(Engine::Postgres);
    let dest = TestDb::create(Engine::Mysql);
    sync(&job(
        &src,
        &[&dest],
        "[subset]\nmax_children_per_parent = 1\n[[subset.targets]]\ntable = \"customer\"\nwhere = \"id = 1\"\n",
    ))
    .expect("capped sync");
    expect_keys(
        &dest,
        &[
            ("customer", &["1"]),
            ("address", &["1"]),
            ("orders", &["10"]),
            ("order_item", &["10,1"]),
            ("shipment", &["100"]),
            ("product", &["1"]),
        ],
        "capped",
    );

    sync(&job(
        &src,
        &[&dest],
        "[subset]\nfollow_children = false\n[[subset.targets]]\ntable = \"customer\"\nlimit = 2\n",
    ))
    .expect("limited sync");
    expect_keys(
        &dest,
        &[
            ("customer", &["1", "2"]),
            ("address", &["1", "3"]),
            ("orders", &[]),
            ("order_item", &[]),
            ("product", &[]),
            ("region", &["1", "2"]),
        ],
        "limit 2, no children",
    );
}

#[test]
fn running_a_job_twice_gives_the_same_destination_and_conflicts_follow_the_option() {
    let src = source(Engine::Sqlite);
    let dest = TestDb::create(Engine::Postgres);
    let snapshot = |db: &TestDb| -> Vec<Vec<Vec<String>>> { TABLES.iter().map(|(t, k)| rows(db, t, k)).collect() };
    sync(&job(&src, &[&dest], "")).expect("first run");
    let first = snapshot(&dest);
    sync(&job(&src, &[&dest], "")).expect("second run (truncate)");
    assert_eq!(snapshot(&dest), first);

    // Without truncate: skip keeps the destination's rows, update takes the source's.
    let no_truncate = |conflict: &str| {
        format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
            src.url, dest.url
        )
    };
    src.exec("UPDATE region SET name = 'NORTH' WHERE id = 1;");
    sync(&no_truncate("skip")).expect("skip run");
    assert_eq!(snapshot(&dest), first);
    sync(&no_truncate("update")).expect("update run");
    assert_eq!(
        rows(&dest, "region", "id"),
        vec![vec!["1".to_string(), "NORTH".into()], vec!["2".into(), "south".into()]]
    );

    // on_conflict = error on a full destination: the first duplicate stops the job.
    let e = sync(&no_truncate("error")).expect_err("duplicate keys");
    let text = e.to_string();
    // employee is first in load order.
    assert!(
        text.contains("table employee: row (id)=(1) was rejected: server error 23505: duplicate key value violates unique constraint \"employee_pkey\""),
        "{text}"
    );
    assert!(
        text.contains("0 rows of employee were written before it; tables complete: none"),
        "{text}"
    );
}

#[test]
fn a_destination_that_rejects_a_row_stops_the_job_naming_table_key_and_server_error() {
    let src = source(Engine::Sqlite);
    src.exec("INSERT INTO region VALUES (3, 'a-very-long-region-name');");
    let dest = TestDb::create(Engine::Mysql);
    dest.exec("CREATE TABLE region (id INT NOT NULL PRIMARY KEY, name VARCHAR(8) NOT NULL);");
    let e = sync(&job(&src, &[&dest], "")).expect_err("the name does not fit");
    let text = e.to_string();
    assert!(
        text.contains(
            "table region: row (id)=(3) was rejected: server error 1406 (22001): Data too long for column 'name'"
        ),
        "{text}"
    );
    assert!(text.contains("2 rows of region were written before it"), "{text}");
}

#[test]
fn the_plan_says_how_each_cycle_loads_and_why_each_table_has_rows() {
    let src = source(Engine::Sqlite);
    let dest = TestDb::create(Engine::Sqlite);
    let job = Job::parse(
        "job.toml",
        &job(
            &src,
            &[&dest],
            "[[subset.targets]]\ntable = \"orders\"\nwhere = \"id = 12\"\n",
        ),
        &|_| None,
    )
    .expect("job");
    let plan = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(async { tether_sync::prepare(&job).await.expect("plan").plan });
    let order: Vec<&str> = plan.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        order,
        [
            "employee",
            "player",
            "team",
            "product",
            "region",
            "customer",
            "address",
            "orders",
            "order_item",
            "shipment"
        ]
    );
    let cycles: Vec<(Vec<String>, String, Vec<String>)> = plan
        .cycles
        .iter()
        .map(|c| (c.tables.clone(), format!("{:?}", c.strategy), c.foreign_keys.clone()))
        .collect();
    assert_eq!(
        cycles,
        vec![
            (
                vec!["employee".into()],
                "Break".into(),
                vec!["employee_manager_fk".into()]
            ),
            (
                vec!["player".into(), "team".into()],
                "Defer".into(),
                vec!["player_team_fk".into(), "team_captain_fk".into()]
            ),
            (
                vec!["customer".into(), "address".into()],
                "Break".into(),
                vec!["customer_default_address_fk".into()]
            ),
        ]
    );
    let reasons = |t: &str| plan.tables.iter().find(|x| x.name == t).expect("table").reasons.clone();
    assert_eq!(
        reasons("orders"),
        [
            "target: WHERE id = 12",
            "parents of order_item rows via order_item_order_fk"
        ]
    );
    assert_eq!(reasons("employee"), ["all rows: not connected to any subset target"]);
    assert!(reasons("customer").contains(&"parents of orders rows via orders_customer_fk".to_string()));
    let customer = plan.tables.iter().find(|x| x.name == "customer").expect("customer");
    assert_eq!(customer.break_fks, ["customer_default_address_fk"]);
    assert_eq!(
        customer.query,
        "SELECT \"id\", \"name\", \"region_id\", \"default_address_id\" FROM \"customer\" WHERE (\"id\") IN (...)"
    );
}

fn quoted(engine: Engine, name: &str) -> String {
    match engine {
        Engine::Mysql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

#[test]
fn chinook_subset_of_three_customers_into_every_engine_has_no_orphans_and_every_track() {
    let Some(dir) = tether_testkit::chinook_dir() else {
        eprintln!("skipped: ../shared/datasets/chinook is not present");
        return;
    };
    let source = dir.join("chinook.sqlite");
    let src = rusqlite::Connection::open(&source).expect("chinook");
    let one = |sql: &str| -> Vec<String> {
        let mut s = src.prepare(sql).expect("prepare");
        s.query_map([], |r| r.get::<_, i64>(0))
            .expect("query")
            .map(|v| v.expect("row").to_string())
            .collect()
    };
    let want_invoices = one("SELECT InvoiceId FROM Invoice WHERE CustomerId IN (1, 2, 3) ORDER BY InvoiceId");
    let want_lines = one("SELECT InvoiceLineId FROM InvoiceLine WHERE InvoiceId IN (SELECT InvoiceId FROM Invoice WHERE CustomerId IN (1, 2, 3)) ORDER BY InvoiceLineId");
    assert_eq!(want_invoices.len(), 21);

    let dests: Vec<TestDb> = ENGINES.into_iter().map(TestDb::create).collect();
    let mut text = format!("source = \"sqlite://{}\"\n", source.display());
    for d in &dests {
        text.push_str(&format!("[[destinations]]\nurl = \"{}\"\n", d.url));
    }
    text.push_str("[[subset.targets]]\ntable = \"Customer\"\nwhere = \"CustomerId IN (1, 2, 3)\"\n");
    let report = sync(&text).expect("chinook sync");
    assert!(report.ok);

    // (child, columns, parent, columns) of Chinook's 11 foreign keys.
    let fks = [
        ("Album", "ArtistId", "Artist", "ArtistId"),
        ("Customer", "SupportRepId", "Employee", "EmployeeId"),
        ("Employee", "ReportsTo", "Employee", "EmployeeId"),
        ("Invoice", "CustomerId", "Customer", "CustomerId"),
        ("InvoiceLine", "InvoiceId", "Invoice", "InvoiceId"),
        ("InvoiceLine", "TrackId", "Track", "TrackId"),
        ("PlaylistTrack", "PlaylistId", "Playlist", "PlaylistId"),
        ("PlaylistTrack", "TrackId", "Track", "TrackId"),
        ("Track", "AlbumId", "Album", "AlbumId"),
        ("Track", "GenreId", "Genre", "GenreId"),
        ("Track", "MediaTypeId", "MediaType", "MediaTypeId"),
    ];
    for d in &dests {
        let e = d.engine;
        let q = |n: &str| quoted(e, n);
        for (c, cc, p, pc) in fks {
            let sql = format!(
                "SELECT count(*) FROM {} c WHERE c.{} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {} p WHERE p.{} = c.{})",
                q(c), q(cc), q(p), q(pc), q(cc)
            );
            assert_eq!(d.query(&sql)[0][0].as_deref(), Some("0"), "{e}: orphans for {c}.{cc}");
        }
        let ids = |table: &str, col: &str| -> Vec<String> {
            d.query(&format!("SELECT {} FROM {} ORDER BY {}", q(col), q(table), q(col)))
                .into_iter()
                .map(|r| r[0].clone().expect("id"))
                .collect()
        };
        assert_eq!(ids("Invoice", "InvoiceId"), want_invoices, "{e}");
        assert_eq!(ids("InvoiceLine", "InvoiceLineId"), want_lines, "{e}");
        assert_eq!(ids("Customer", "CustomerId"), ["1", "2", "3"], "{e}");
        let missing_tracks = format!(
            "SELECT count(*) FROM {} il WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE t.{} = il.{})",
            q("InvoiceLine"),
            q("Track"),
            q("TrackId"),
            q("TrackId")
        );
        assert_eq!(d.query(&missing_tracks)[0][0].as_deref(), Some("0"), "{e}");
    }
}

#[test]
fn checks_verify_loads_every_cycle_with_checks_off_and_the_result_is_the_same() {
    for engine in ENGINES {
        let src = source(engine);
        let dest = TestDb::create(engine);
        let text = format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\nchecks = \"verify\"\n",
            src.url, dest.url
        );
        let job = Job::parse("job.toml", &text, &|_| None).expect("job");
        assert_eq!(job.destinations[0].checks, tether_sync::config::Checks::Verify);
        let report = sync(&text).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}");
        for (table, key) in TABLES {
            assert_eq!(
                rows(&dest, table, key),
                rows(&src, table, key),
                "{engine}: table {table}"
            );
        }
        assert_eq!(orphans(&dest), BTreeMap::new(), "{engine}");
    }
    // The destination enforces its FKs again afterwards.
    let (src, dest) = (source(Engine::Sqlite), TestDb::create(Engine::Mysql));
    sync(&format!(
        "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\nchecks = \"verify\"\n",
        src.url, dest.url
    ))
    .expect("sync");
    let still_enforced = std::panic::catch_unwind(|| dest.exec("INSERT INTO address VALUES (99, 12345, 'nowhere');"));
    assert!(
        still_enforced.is_err(),
        "an orphan insert must be refused after the load"
    );
}

#[test]
fn postgres_to_postgres_copies_raw_and_still_names_a_rejected_row() {
    let src = source(Engine::Postgres);
    src.exec("INSERT INTO region VALUES (3, 'eleven-char');");
    let dest = TestDb::create(Engine::Postgres);
    dest.exec("CREATE TABLE region (id INT NOT NULL PRIMARY KEY, name VARCHAR(8) NOT NULL);");
    let e = sync(&job(&src, &[&dest], "")).expect_err("the name does not fit");
    let text = e.to_string();
    assert!(
        text.contains(
            "table region: row (id)=(3) was rejected: server error 22001: value too long for type character varying(8)"
        ),
        "{text}"
    );
}

#[test]
fn awkward_values_survive_every_write_path_exactly() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE note (id INTEGER NOT NULL PRIMARY KEY, body TEXT NULL, raw BLOB NULL, score REAL NULL);
         INSERT INTO note VALUES
           (1, 'tab' || char(9) || 'newline' || char(10) || 'cr' || char(13) || 'end', X'00090A5CFF', 1.5),
           (2, 'back\\slash \\N and ''quotes'' \"double\"', X'', -0.25),
           (3, 'unicode: é ß 漢字 🦀', NULL, NULL),
           (4, '', X'5C4E', 1e-7),
           (5, NULL, NULL, 12345678.875);",
    );
    // SQLite's hex(NULL) is '' where the other engines give NULL.
    let want =
        src.query("SELECT id, body, CASE WHEN raw IS NULL THEN NULL ELSE hex(raw) END, score FROM note ORDER BY id");
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        sync(&job(&src, &[&dest], "")).unwrap_or_else(|e| panic!("{engine}: {e}"));
        let hex = match engine {
            Engine::Postgres => "upper(encode(raw, 'hex'))",
            Engine::Mysql => "hex(raw)",
            Engine::Sqlite => "CASE WHEN raw IS NULL THEN NULL ELSE hex(raw) END",
        };
        let got = dest.query(&format!("SELECT id, body, {hex}, score FROM note ORDER BY id"));
        let norm = |rows: Vec<Vec<Option<String>>>| -> Vec<Vec<Option<String>>> {
            rows.into_iter()
                .map(|r| {
                    r.into_iter()
                        .map(|v| v.map(|s| s.parse::<f64>().map(|f| format!("{f}")).unwrap_or(s)))
                        .collect()
                })
                .collect()
        };
        assert_eq!(norm(got), norm(want.clone()), "{engine}");
    }
}
