//! The shop fixture shared by the sync tests: every cycle shape, written natively on
//! each engine, and helpers to read it back with plain SQL.
#![allow(dead_code)]

use std::collections::BTreeMap;

use tether_sync::{Job, Progress, Report};
use tether_testkit::{TestDb, TestEngine as Engine};

pub const ENGINES: [Engine; 3] = [Engine::Sqlite, Engine::Postgres, Engine::Mysql];

/// Tables and their key columns, in an order that lists parents before children.
pub const TABLES: &[(&str, &str)] = &[
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

pub fn ddl(engine: Engine) -> String {
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

pub fn source(engine: Engine) -> TestDb {
    let db = TestDb::create(engine);
    db.exec(&ddl(engine));
    db
}

/// Values as the tests compare them: decimals as numbers, MariaDB's datetime zeros
/// dropped.
pub fn norm(v: &Option<String>) -> String {
    match v {
        None => "NULL".into(),
        Some(s) if s.contains('.') && s.parse::<f64>().is_ok() => format!("{}", s.parse::<f64>().expect("number")),
        Some(s) => s.strip_suffix(".000000").unwrap_or(s).to_string(),
    }
}

pub fn rows(db: &TestDb, table: &str, order: &str) -> Vec<Vec<String>> {
    db.query(&format!("SELECT * FROM {table} ORDER BY {order}"))
        .iter()
        .map(|r| r.iter().map(norm).collect())
        .collect()
}

pub fn keys(db: &TestDb, table: &str, key: &str) -> Vec<String> {
    db.query(&format!("SELECT {key} FROM {table} ORDER BY {key}"))
        .iter()
        .map(|r| r.iter().map(norm).collect::<Vec<_>>().join(","))
        .collect()
}

/// Orphans per FK, counted with plain SQL on the destination.
pub fn orphans(db: &TestDb) -> BTreeMap<&'static str, i64> {
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

pub struct Quiet;

impl Progress for Quiet {
    fn phase(&self, _: &str) {}
    fn table_started(&self, _: &str, _: u64) {}
    fn rows(&self, _: &str, _: u64) {}
    fn table_done(&self, _: &str, _: u64, _: f64) {}
}

pub fn sync(job: &str) -> Result<Report, tether_sync::SyncError> {
    sync_telling(job, &Quiet)
}

/// [`sync`], telling `progress` along the way.
pub fn sync_telling(job: &str, progress: &dyn Progress) -> Result<Report, tether_sync::SyncError> {
    let job = Job::parse("job.toml", job, &|_| None)?;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let prepared = tether_sync::prepare(&job).await?;
            tether_sync::run(&job, prepared, progress).await
        })
}

pub fn job(source: &TestDb, dests: &[&TestDb], extra: &str) -> String {
    let mut s = format!("source = \"{}\"\n", source.url);
    for d in dests {
        s.push_str(&format!("[[destinations]]\nurl = \"{}\"\ntruncate = true\n", d.url));
    }
    s.push_str(extra);
    s
}

/// What a subset chose: per table, its keys and the rows kept for the load.
pub type Chosen = BTreeMap<String, (Vec<Vec<tether_connect::Value>>, Option<Vec<tether_connect::Row>>)>;

/// Computes the subset of `job` the way `how` says on `connections` connections of one
/// snapshot; also says whether the server chose it ([`tether_sync::subset::Subset::on_server`]).
pub fn choose(job: &str, how: tether_sync::subset::KeyReads, connections: usize) -> (Chosen, bool) {
    let job = Job::parse("job.toml", job, &|_| None).expect("job");
    tether_testkit::block_on(async {
        let mut p = tether_sync::prepare(&job).await.expect("prepare");
        let snapshot = p.source.begin_snapshot().await.expect("snapshot");
        let mut others = Vec::new();
        for _ in 1..connections {
            let mut c = tether_connect::Connection::open_source(&job.source_url().expect("url"))
                .await
                .expect("another connection");
            match &snapshot {
                Some(id) => c.join_snapshot(id).await.expect("join"),
                None => {
                    c.begin_snapshot().await.expect("begin");
                }
            }
            others.push(c);
        }
        let subset = tether_sync::subset::compute_with(&mut p.source, &mut others, &p.schema, &p.rules, how)
            .await
            .expect("subset");
        // A connection the server chose on (temp tables made outside the snapshot's
        // transaction) is back in a read-only transaction.
        if job.source.starts_with("postgres") {
            for c in others.iter_mut() {
                let rows = c
                    .query("SELECT current_setting('transaction_read_only')", &[])
                    .await
                    .expect("a read after the subset");
                assert_eq!(
                    format!("{rows:?}"),
                    format!("{:?}", [[tether_connect::Value::Text("on".into())]])
                );
            }
        }
        let chosen = subset
            .keys
            .iter()
            .map(|(t, k)| (t.to_string(), (k.clone(), subset.take_rows(t))))
            .collect();
        (chosen, subset.on_server)
    })
}

/// The schema items (objects created, mapped, skipped) the plan of job `text` gives its
/// first destination.
pub fn items(text: &str) -> Vec<tether_sync::schema_plan::SchemaItem> {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    let plan = tether_testkit::block_on(async { tether_sync::prepare(&job).await.expect("plan").plan });
    plan.destinations[0]
        .schema
        .as_ref()
        .expect("the destination was read")
        .objects
        .clone()
}

/// The item of `kind` named `name` (a panic listing them all when missing).
pub fn item<'a>(
    items: &'a [tether_sync::schema_plan::SchemaItem],
    kind: &str,
    name: &str,
) -> &'a tether_sync::schema_plan::SchemaItem {
    items
        .iter()
        .find(|i| i.kind == kind && i.name == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {items:#?}"))
}

/// The first column of the first row `sql` reads on `db` ("NULL" for NULL).
pub fn one(db: &TestDb, sql: &str) -> String {
    db.query(sql)[0][0].clone().unwrap_or_else(|| "NULL".into())
}

/// `tether scan` on the whole of `db`, 500 rows per table.
pub fn scan(db: &TestDb) -> tether_sync::scan::Scan {
    tether_testkit::block_on(async {
        let mut conn = tether_connect::Connection::open_source(&db.db_url())
            .await
            .expect("open");
        let schema = conn
            .introspect(&tether_connect::IntrospectOptions::default())
            .await
            .expect("schema");
        let tables: Vec<&tether_schema::Table> = schema.tables.iter().collect();
        tether_sync::scan::scan(&mut conn, &schema, &tables, "src", 500)
            .await
            .expect("scan")
    })
}

/// The suggestion the scan shows for `column` of `found`, as the job file writes it.
pub fn suggested(found: &tether_sync::scan::Scan, column: &str) -> Option<String> {
    let c = found
        .columns
        .iter()
        .find(|c| c.column == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    c.suggested.as_ref().map(|s| s.to_string())
}

/// Runs `job` and stops it (as a first Ctrl-C would) once `ready` says so, asked every
/// 2 ms from another thread for at most 60 s: the run's error, or `None` when the load
/// finished before the stop reached it (the caller skips then).
pub fn run_stopped_when(job: &Job, ready: impl Fn() -> bool + Send + 'static) -> Option<tether_sync::SyncError> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            while started.elapsed() < std::time::Duration::from_secs(60) && !ready() {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let outcome = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            let prepared = tether_sync::prepare(job).await?;
            let stopped = async {
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
            };
            tether_sync::run_until(job, prepared, &Quiet, stopped).await
        });
    let _ = watcher.join();
    match outcome {
        Err(e) => Some(e),
        Ok(_) => {
            eprintln!("skipped: the load finished before the stop reached it");
            None
        }
    }
}

/// Runs the job `text` and kills it (as `kill -9`, an OOM kill or a second Ctrl-C
/// would) once `ready` says so, asked every 2 ms for at most 60 s: the run's runtime is
/// dropped where it is, its connections closed under it, nothing of its own undo run.
/// True when it was killed, false when the run ended before (the caller skips then).
pub fn run_killed_when(text: &str, ready: impl Fn() -> bool) -> bool {
    let job = Job::parse("job.toml", text, &|_| None).expect("job");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let run = runtime.spawn(async move {
        let prepared = tether_sync::prepare(&job).await?;
        tether_sync::run(&job, prepared, &Quiet).await
    });
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(60) && !run.is_finished() && !ready() {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let killed = !run.is_finished();
    runtime.shutdown_background();
    if !killed {
        eprintln!("skipped: the run ended before it was killed");
    }
    // (A SQLite statement under way on a blocking thread ends on its own; its file
    // lock goes with it.)
    std::thread::sleep(std::time::Duration::from_millis(200));
    killed
}
