//! Anonymizing syncs on all three engines: keys transformed on parents with children
//! several levels down, composite keys, a self-reference, a cycle, an FK to a unique
//! key and a virtual FK. Each child must point at the transformed parent of its
//! original parent: checked row by row, matching rows through columns left as they are.

mod common;

use std::collections::{BTreeMap, HashMap};

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const TRANSFORMS: &str = r#"
[transform.customer]
id = "hash"

[transform.orders]
id = "hash"

[transform.employee]
id = "hash"

[transform.player]
id = "hash"

[transform.product]
sku = "hash"

[transform.address]
city = "city"

[[virtual_foreign_keys]]
table = "shipment"
columns = ["order_id"]
referenced_table = "orders"
"#;

fn map(db: &TestDb, sql: &str) -> HashMap<String, String> {
    db.query(sql).into_iter().map(|r| (norm(&r[0]), norm(&r[1]))).collect()
}

fn anonymized(src: &TestDb, dest: &TestDb, seed: &str) {
    let text = format!("seed = \"{seed}\"\n{}{TRANSFORMS}", job(src, &[dest], ""));
    let report = sync(&text).unwrap_or_else(|e| panic!("{}: {e}", dest.engine));
    assert!(report.ok, "{}: {report:?}", dest.engine);
}

/// Checks `dest` against `src` row by row.
fn check_pointers(src: &TestDb, dest: &TestDb) {
    let e = dest.engine;
    assert_eq!(orphans(dest), BTreeMap::new(), "{e}");
    // Customers are matched by name, orders by date, products by price, employees and
    // players by name: those columns are copied as they are.
    let customer_id = |db: &TestDb| map(db, "SELECT name, id FROM customer");
    let (src_c, dest_c) = (customer_id(src), customer_id(dest));
    for (name, id) in &src_c {
        assert_ne!(&dest_c[name], id, "{e}: customer {name} kept its id");
    }
    let src_orders = src.query("SELECT o.placed, c.name FROM orders o JOIN customer c ON c.id = o.customer_id");
    let dest_orders = map(dest, "SELECT placed, customer_id FROM orders");
    for r in &src_orders {
        let (placed, customer) = (norm(&r[0]), norm(&r[1]));
        assert_eq!(dest_orders[&placed], dest_c[&customer], "{e}: order of {placed}");
    }
    let order_of = |db: &TestDb| map(db, "SELECT id, placed FROM orders");
    let (src_o, dest_o) = (order_of(src), order_of(dest));
    let dest_o_by_placed: HashMap<&String, &String> = dest_o.iter().map(|(id, p)| (p, id)).collect();
    let sku_of = |db: &TestDb| map(db, "SELECT price, sku FROM product");
    let (src_sku, dest_sku) = (sku_of(src), sku_of(dest));
    let src_price: HashMap<&String, &String> = src_sku.iter().map(|(p, s)| (s, p)).collect();
    let item_rows = |db: &TestDb| db.query("SELECT order_id, line_no, product_sku, qty FROM order_item");
    let dest_items: Vec<Vec<String>> = item_rows(dest).iter().map(|r| r.iter().map(norm).collect()).collect();
    for r in item_rows(src) {
        let r: Vec<String> = r.iter().map(norm).collect();
        let order = dest_o_by_placed[&src_o[&r[0]]];
        let sku = &dest_sku[src_price[&r[2]]];
        let want = vec![order.clone(), r[1].clone(), sku.clone(), r[3].clone()];
        assert!(dest_items.contains(&want), "{e}: order item {r:?} should be {want:?}");
    }
    // The composite FK and the virtual FK of shipments follow the transformed order ids.
    let ship = |db: &TestDb| db.query("SELECT id, order_id, line_no FROM shipment");
    let dest_ship: HashMap<String, (String, String)> = ship(dest)
        .iter()
        .map(|r| (norm(&r[0]), (norm(&r[1]), norm(&r[2]))))
        .collect();
    for r in ship(src) {
        let want = (dest_o_by_placed[&src_o[&norm(&r[1])]].clone(), norm(&r[2]));
        assert_eq!(dest_ship[&norm(&r[0])], want, "{e}: shipment {}", norm(&r[0]));
    }
    // The self-reference: each employee's manager is the transformed id of the same person.
    let emp = |db: &TestDb| {
        db.query("SELECT e.name, m.name FROM employee e LEFT JOIN employee m ON m.id = e.manager_id ORDER BY e.name")
    };
    assert_eq!(emp(dest), emp(src), "{e}: managers");
    let src_e = map(src, "SELECT name, id FROM employee");
    let dest_e = map(dest, "SELECT name, id FROM employee");
    assert!(
        src_e.iter().all(|(n, id)| &dest_e[n] != id),
        "{e}: employee ids unchanged"
    );
    // The NOT NULL cycle: each team's captain is the transformed id of the same player.
    let captains =
        |db: &TestDb| db.query("SELECT t.id, p.name FROM team t JOIN player p ON p.id = t.captain_id ORDER BY t.id");
    assert_eq!(captains(dest), captains(src), "{e}: captains");
    // Cities are replaced, never copied.
    let cities = |db: &TestDb| map(db, "SELECT id, city FROM address");
    let (src_city, dest_city) = (cities(src), cities(dest));
    for (id, city) in &src_city {
        assert_ne!(&dest_city[id], city, "{e}: address {id} kept its city");
    }
}

#[test]
fn transformed_keys_keep_every_child_pointing_at_its_transformed_parent_on_every_engine() {
    for engine in ENGINES {
        let src = source(engine);
        let dest = TestDb::create(engine);
        anonymized(&src, &dest, "first seed");
        check_pointers(&src, &dest);
    }
    // Across engines too, and with checks off during the load.
    let src = source(Engine::Postgres);
    let dest = TestDb::create(Engine::Sqlite);
    anonymized(&src, &dest, "first seed");
    check_pointers(&src, &dest);
}

#[test]
fn the_same_seed_gives_the_same_destination_and_another_seed_another() {
    let src = source(Engine::Sqlite);
    let dump = |db: &TestDb| -> Vec<Vec<Vec<String>>> { TABLES.iter().map(|(t, _)| rows(db, t, "1, 2")).collect() };
    let (a, b, c) = (
        TestDb::create(Engine::Mysql),
        TestDb::create(Engine::Mysql),
        TestDb::create(Engine::Mysql),
    );
    anonymized(&src, &a, "seed one");
    anonymized(&src, &b, "seed one");
    anonymized(&src, &c, "seed two");
    assert_eq!(dump(&a), dump(&b));
    assert_ne!(
        map(&a, "SELECT name, id FROM customer"),
        map(&c, "SELECT name, id FROM customer")
    );
    assert_ne!(
        map(&a, "SELECT id, city FROM address"),
        map(&c, "SELECT id, city FROM address")
    );
}

#[test]
fn transform_errors_name_the_line_the_fk_and_the_transformers() {
    let src = source(Engine::Sqlite);
    let dest = TestDb::create(Engine::Sqlite);
    let run = |extra: &str| {
        sync(&format!("seed = \"s\"\n{}{extra}", job(&src, &[&dest], "")))
            .expect_err("must fail")
            .to_string()
    };
    let e = run("[transform.customer]\nemial = \"email\"\n");
    assert!(
        e.contains("line 7: [transform.customer] emial: column `emial` does not exist in table `customer`"),
        "{e}"
    );
    let e = run("[transform.customer]\nname = \"no_such_kind\"\n");
    assert!(e.contains("line 7") && e.contains("no_such_kind"), "{e}");
    let e = run("[transform.customer]\nid = \"hash\"\n[transform.orders]\ncustomer_id = { kind = \"int_range\", min = 1, max = 9 }\n");
    assert!(e.contains("orders_customer_fk"), "{e}");
    let no_seed = sync(&format!(
        "{}[transform.customer]\nname = \"full_name\"\n",
        job(&src, &[&dest], "")
    ))
    .expect_err("no seed");
    assert!(no_seed.to_string().contains("[transform] needs a `seed`"), "{no_seed}");
}

#[test]
fn the_leak_report_counts_values_left_as_they_were() {
    let src = source(Engine::Sqlite);
    let dest = TestDb::create(Engine::Sqlite);
    // `passthrough` on a text column leaves every value: the report must say so.
    let text = format!(
        "seed = \"s\"\n{}[transform.region]\nname = \"passthrough\"\n[transform.address]\ncity = \"city\"\n",
        job(&src, &[&dest], "")
    );
    let report = sync(&text).expect("sync");
    let leak = |t: &str, c: &str| {
        report
            .leaks
            .iter()
            .find(|l| l.table == t && l.column == c)
            .unwrap_or_else(|| panic!("{t}.{c}"))
            .clone()
    };
    let region = leak("region", "name");
    assert_eq!(
        (region.rows, region.unchanged, region.source_values_in_destination),
        (2, 2, Some(2))
    );
    let city = leak("address", "city");
    assert_eq!((city.rows, city.unchanged), (3, 0));
}

#[test]
fn a_fresh_generator_on_a_key_maps_every_child_through_one_key_map() {
    let src = source(Engine::Sqlite);
    let dest = TestDb::create(Engine::Postgres);
    let text = format!(
        "seed = \"s\"\n{}[transform.customer]\nid = \"generate_hash\"\n",
        job(&src, &[&dest], "")
    );
    let plan_job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let plan = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(async { tether_sync::prepare(&plan_job).await.expect("plan").plan });
    let orders = plan.tables.iter().find(|t| t.name == "orders").expect("orders");
    assert_eq!(orders.transforms[0].column, "customer_id");
    assert!(
        orders.transforms[0].origin.contains("orders_customer_fk"),
        "{:?}",
        orders.transforms[0].origin
    );
    assert!(sync(&text).expect("sync").ok);
    assert_eq!(orphans(&dest), BTreeMap::new());
    // Each order still belongs to the customer of the same name.
    let names = |db: &TestDb| {
        db.query("SELECT o.placed, c.name FROM orders o JOIN customer c ON c.id = o.customer_id ORDER BY o.placed")
    };
    assert_eq!(names(&dest), names(&src));
    let ids = |db: &TestDb| map(db, "SELECT name, id FROM customer");
    assert!(ids(&src).iter().all(|(n, id)| &ids(&dest)[n] != id));
}

#[test]
fn the_same_seed_writes_byte_identical_sqlite_files() {
    let src = source(Engine::Postgres);
    let dir = std::env::temp_dir().join(format!("tether_bytes_{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let run = |name: &str| -> Vec<u8> {
        let path = dir.join(name);
        let text = format!(
            "seed = \"s\"\nsource = \"{}\"\n[[destinations]]\nurl = \"sqlite://{}\"\n[options]\nparallelism = 1\n{TRANSFORMS}",
            src.url,
            path.display()
        );
        assert!(sync(&text).expect("sync").ok);
        // Fold the write-ahead log into the file before reading it.
        rusqlite::Connection::open(&path)
            .expect("open")
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;")
            .expect("checkpoint");
        std::fs::read(&path).expect("read")
    };
    let (a, b) = (run("a.sqlite"), run("b.sqlite"));
    assert_eq!(a.len(), b.len());
    assert!(a == b, "the two files differ");
    let _ = std::fs::remove_dir_all(&dir);
}
