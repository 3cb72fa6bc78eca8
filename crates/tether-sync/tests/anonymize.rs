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

/// Transformers whose output depends on the row, not the key alone: each child must
/// take its parent's new key through the key map (issue 12, item 3).
const ROW_READING: &str = r#"
[transform.customer]
id = { kind = "js", code = "(v, row) => v * 100 + row.region_id" }

[transform.orders]
id = { kind = "js", code = "(v, row) => v * 7 + row.customer_id" }

[transform.employee]
id = { kind = "js", code = "(v, row) => v * 10 + row.name.length" }

[transform.player]
id = { kind = "js", code = "(v, row) => v + 10 * row.team_id" }

[transform.order_item]
line_no = { kind = "js", code = "(v, row) => v * 10 + row.qty" }

[[virtual_foreign_keys]]
table = "shipment"
columns = ["order_id"]
referenced_table = "orders"
"#;

/// Every table of the shop after ROW_READING, computed by hand from the fixture.
fn expect_row_reading(dest: &TestDb) {
    let e = dest.engine;
    assert_eq!(orphans(dest), BTreeMap::new(), "{e}");
    let want = |t: &str, order: &str, rows: &[&[&str]]| {
        let want: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect();
        assert_eq!(common::rows(dest, t, order), want, "{e}: {t}");
    };
    want(
        "customer",
        "id",
        &[
            &["101", "acme", "1", "1"],
            &["202", "bolt", "2", "3"],
            &["301", "core", "1", "NULL"],
        ],
    );
    want(
        "address",
        "id",
        &[&["1", "101", "lyon"], &["2", "101", "nice"], &["3", "202", "oslo"]],
    );
    want(
        "orders",
        "id",
        &[
            &["71", "101", "2023-05-01"],
            &["78", "101", "2024-02-01"],
            &["86", "202", "2024-03-01"],
            &["94", "301", "2022-01-01"],
        ],
    );
    // Two levels down: order_item.order_id (part of its key) and shipment's composite
    // FK to order_item, whose line_no is itself keyed through the whole parent key.
    want(
        "order_item",
        "order_id, line_no",
        &[
            &["71", "12", "A-1", "2"],
            &["71", "21", "B-2", "1"],
            &["78", "15", "B-2", "5"],
            &["86", "11", "C-3", "1"],
            &["94", "11", "A-1", "1"],
        ],
    );
    want(
        "shipment",
        "id",
        &[&["100", "71", "12"], &["101", "86", "11"], &["102", "94", "11"]],
    );
    // The self-reference (a child read before its parent) and the NOT NULL cycle.
    want(
        "employee",
        "id",
        &[
            &["14", "boss", "NULL"],
            &["23", "dev", "34"],
            &["34", "lead", "14"],
            &["46", "intern", "23"],
        ],
    );
    want(
        "player",
        "id",
        &[&["11", "1", "ann"], &["12", "1", "bob"], &["23", "2", "cy"]],
    );
    want("team", "id", &[&["1", "11"], &["2", "23"]]);
}

#[test]
fn a_row_reading_js_on_referenced_keys_reaches_children_through_the_key_map() {
    for (from, to, extra) in [
        (Engine::Sqlite, Engine::Postgres, ""),
        (Engine::Postgres, Engine::Sqlite, ""),
        (Engine::Mysql, Engine::Mysql, ""),
        // Checks off and two lanes: children may load before their parents.
        (
            Engine::Postgres,
            Engine::Postgres,
            "checks = \"verify\"\n[options]\nparallelism = 2\n",
        ),
    ] {
        let src = source(from);
        let dest = TestDb::create(to);
        let text = format!("seed = \"s\"\n{}{extra}{ROW_READING}", job(&src, &[&dest], ""));
        let report = sync(&text).unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
        assert!(report.ok, "{from} -> {to}: {report:?}");
        expect_row_reading(&dest);
    }
}

fn plan_of(text: &str) -> tether_sync::Plan {
    let job = tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(async { tether_sync::prepare(&job).await.expect("plan").plan })
}

#[test]
fn the_plan_says_whether_each_inherited_key_takes_the_same_function_or_the_key_map() {
    let src = source(Engine::Sqlite);
    let dest = TestDb::create(Engine::Sqlite);
    let text = format!(
        "seed = \"s\"\n{}[transform.customer]\nid = \"hash\"\n[transform.orders]\n\
         id = {{ kind = \"js\", code = \"(v, row) => v * 7 + row.customer_id\" }}\n\
         [transform.employee]\nid = {{ kind = \"js\", deterministic = false, code = \"(v) => v * 1000 + Date.now() % 1000\" }}\n\
         [transform.player]\nid = {{ kind = \"js\", code = \"(v) => v + 100\" }}\n\
         [transform.product]\nsku = \"generate_hash\"\n",
        job(&src, &[&dest], "")
    );
    let plan = plan_of(&text);
    let json = serde_json::to_value(&plan).expect("json");
    let mut seen = BTreeMap::new();
    for t in json["tables"].as_array().expect("tables") {
        for x in t["transforms"].as_array().expect("transforms") {
            if let Some(i) = x.get("inherited") {
                seen.insert(
                    format!("{}.{}", t["name"].as_str().unwrap(), x["column"].as_str().unwrap()),
                    i["via"].as_str().unwrap_or("(none)").to_string(),
                );
            }
        }
    }
    let want: BTreeMap<String, String> = [
        ("address.customer_id", "same function"),
        ("orders.customer_id", "same function"),
        ("order_item.order_id", "key map"),
        ("order_item.product_sku", "key map"),
        ("shipment.order_id", "key map"),
        ("employee.manager_id", "key map"),
        ("team.captain_id", "same function"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(seen, want);
    let text = plan.to_text();
    for line in [
        "transform: order_id = js(call_on_null=false, code=\"(v, row) => v * 7 + row.customer_id\", deterministic=true, memory_mb=64, timeout_ms=1000) (inherited through FK `order_item_order_fk` from orders.id; key map: the function reads its row)",
        "transform: customer_id = hash(max=2147483647, min=-2147483648) (inherited through FK `orders_customer_fk` from customer.id; same function)",
        "transform: manager_id = js(call_on_null=false, code=\"(v) => v * 1000 + Date.now() % 1000\", deterministic=false, memory_mb=64, timeout_ms=1000) (inherited through FK `employee_manager_fk` from employee.id; key map: declared deterministic = false)",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
}

#[test]
fn a_row_reading_key_map_gives_the_same_destination_for_the_same_seed() {
    let src = source(Engine::Postgres);
    let tf = "[transform.customer]\nid = { kind = \"js\", code = \"(v, row) => parseInt(tether.hash(v + row.name).slice(0, 6), 16)\" }\n";
    let run = |seed: &str| {
        let dest = TestDb::create(Engine::Sqlite);
        let report = sync(&format!("seed = \"{seed}\"\n{}{tf}", job(&src, &[&dest], ""))).expect("sync");
        assert!(report.ok, "{report:?}");
        assert_eq!(orphans(&dest), BTreeMap::new());
        // Each order and address still belongs to the customer of the same name.
        let owners = |db: &TestDb| {
            db.query(
                "SELECT o.placed, c.name FROM orders o JOIN customer c ON c.id = o.customer_id \
                 UNION ALL SELECT a.city, c.name FROM address a JOIN customer c ON c.id = a.customer_id ORDER BY 1",
            )
        };
        assert_eq!(owners(&dest), owners(&src));
        TABLES.iter().map(|(t, _)| rows(&dest, t, "1, 2")).collect::<Vec<_>>()
    };
    let (a, b, c) = (run("one"), run("one"), run("two"));
    assert_eq!(a, b, "the same seed must give the same rows");
    assert_ne!(a, c, "another seed must give other keys");
}

#[test]
fn a_non_deterministic_js_on_a_key_is_run_once_per_parent_row_and_children_follow() {
    // `deterministic = false`: the function keeps a counter, so a second call for the same
    // key would give another value; children must never call it.
    let src = source(Engine::Sqlite);
    let dest = TestDb::create(Engine::Postgres);
    let tf = "[transform.customer]\nid = { kind = \"js\", deterministic = false, code = \
              \"(() => { let n = 0; return (v, row) => v * 1000 + row.region_id * 100 + (n++) })()\" }\n";
    let report = sync(&format!("seed = \"s\"\n{}{tf}", job(&src, &[&dest], ""))).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(orphans(&dest), BTreeMap::new());
    let ids: Vec<String> = dest
        .query("SELECT id FROM customer ORDER BY id")
        .iter()
        .map(|r| norm(&r[0]))
        .collect();
    // One call per customer, in the order they were read: counters 0, 1, 2.
    let mut counters: Vec<i64> = ids.iter().map(|i| i.parse::<i64>().unwrap() % 100).collect();
    counters.sort();
    assert_eq!(counters, vec![0, 1, 2], "{ids:?}");
    let owners = |db: &TestDb| {
        db.query("SELECT o.placed, c.name FROM orders o JOIN customer c ON c.id = o.customer_id ORDER BY o.placed")
    };
    assert_eq!(owners(&dest), owners(&src));
}

#[test]
fn the_leak_report_counts_case_and_whitespace_changes_as_folded_leaks() {
    let src = source(Engine::Postgres);
    let dest = TestDb::create(Engine::Sqlite);
    // Customer names change case and gain spaces in their own row; region names move to
    // the other row in another case; cities are replaced.
    let text = format!(
        "seed = \"s\"\n{}[transform.customer]\nname = {{ kind = \"js\", code = \"(v) => ' ' + v.toUpperCase() + '  '\" }}\n\
         [transform.region]\nname = {{ kind = \"js\", code = \"(v) => v === 'north' ? 'SOUTH ' : 'North'\" }}\n\
         [transform.address]\ncity = {{ kind = \"js\", code = \"(v) => v === 'lyon' ? 'lyon' : 'Paris'\" }}\n",
        job(&src, &[&dest], "")
    );
    let report = sync(&text).expect("sync");
    let leak = |t: &str, c: &str| {
        let l = report
            .leaks
            .iter()
            .find(|l| l.table == t && l.column == c)
            .unwrap_or_else(|| panic!("{t}.{c}"));
        (
            l.rows,
            l.unchanged,
            l.unchanged_folded,
            l.source_values_in_destination,
            l.source_values_in_destination_folded,
        )
    };
    assert_eq!(leak("customer", "name"), (3, 0, Some(3), Some(0), Some(3)));
    assert_eq!(leak("region", "name"), (2, 0, Some(0), Some(0), Some(2)));
    assert_eq!(leak("address", "city"), (3, 1, Some(1), Some(1), Some(1)));
    let json = serde_json::to_value(&report.leaks).expect("json");
    assert_eq!(json[0]["unchanged_folded"], 1, "{json}");
}

#[test]
fn a_key_map_child_without_a_parent_row_is_made_from_its_own_row_or_named() {
    // a.b_ref -> b.id is a virtual FK that the source itself breaks: (12, 7).
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE b (id INTEGER PRIMARY KEY, team INTEGER NOT NULL);
         CREATE TABLE a (id INTEGER PRIMARY KEY, b_ref INTEGER);
         INSERT INTO b VALUES (1, 3), (2, 4);
         INSERT INTO a VALUES (10, 1), (11, 2), (12, 7), (13, 7), (14, NULL);",
    );
    let vfk = "[[virtual_foreign_keys]]\ntable = \"a\"\ncolumns = [\"b_ref\"]\nreferenced_table = \"b\"\n";
    let dest = TestDb::create(Engine::Sqlite);
    // A fresh generator: the orphan gets a value of its own, the same for both rows.
    let report = sync(&format!(
        "seed = \"s\"\n{}{vfk}[transform.b]\nid = \"generate_hash\"\n",
        job(&src, &[&dest], "")
    ))
    .expect("sync");
    assert!(!report.ok, "the source's orphan is still an orphan");
    let refs: Vec<Vec<String>> = rows(&dest, "a", "id");
    let ids: Vec<String> = rows(&dest, "b", "team").into_iter().map(|r| r[0].clone()).collect();
    assert_eq!(refs[0][1], ids[0]);
    assert_eq!(refs[1][1], ids[1]);
    assert_eq!(refs[2][1], refs[3][1]);
    assert!(!ids.contains(&refs[2][1]) && refs[2][1] != "7", "{refs:?}");
    assert_eq!(refs[4][1], "NULL");
    // A function reading its row cannot be run on the child's row: the error says why.
    let e = sync(&format!(
        "seed = \"s\"\n{}{vfk}[transform.b]\nid = {{ kind = \"js\", code = \"(v, row) => v * 10 + row.team\" }}\n",
        job(&src, &[&dest], "")
    ))
    .expect_err("the orphan has no new value")
    .to_string();
    assert!(
        e.contains("table a, column b_ref, row (id)=(12): transformer `js(") && e.contains("cannot transform 7: it has no row in b.id to take its new value from, and computing it from this row failed: value NaN does not fit"),
        "{e}"
    );
}

#[test]
fn a_row_reading_key_that_collides_stops_the_job_naming_the_unique_key() {
    // Customers 1 and 3 are both in region 1: their new ids clash.
    let src = source(Engine::Sqlite);
    let dest = TestDb::create(Engine::Sqlite);
    let e = sync(&format!(
        "seed = \"s\"\n{}[transform.customer]\nid = {{ kind = \"js\", code = \"(v, row) => row.region_id * 1000\" }}\n",
        job(&src, &[&dest], "")
    ))
    .expect_err("duplicate keys")
    .to_string();
    assert!(
        e.contains("table customer: duplicate value in unique key (id) after transformation: (1000)"),
        "{e}"
    );
}

#[test]
fn a_column_referencing_a_transformed_and_an_unchanged_parent_is_refused_before_anything_is_written() {
    // ch.x references p1.id and p2.id; only p1.id is transformed, so every row of ch
    // would be an orphan of p2 (it was: 20 orphans found by `verify`).
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "create table p1(id int primary key); create table p2(id int primary key);
         create table ch(id int primary key, x int references p1(id),
                         constraint ch_x_p2 foreign key (x) references p2(id));
         insert into p1 select generate_series(1, 20); insert into p2 select generate_series(1, 20);
         insert into ch select g, g from generate_series(1, 20) g;",
    );
    let dest = TestDb::create(Engine::Postgres);
    let base = format!("seed = \"s\"\n{}checks = \"verify\"\n", job(&src, &[&dest], ""));
    let inherited = format!("{base}[transform.p1]\nid = \"hash\"\n");
    let job_of = |text: &str| tether_sync::Job::parse("job.toml", text, &|_| None).expect("job");
    let planned = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(async { tether_sync::prepare(&job_of(&inherited)).await.map(|_| ()) });
    assert_eq!(
        planned.expect_err("`tether plan` must refuse it").to_string(),
        "job.toml: foreign key `ch_x_p2`: ch.x inherits hash(max=2147483647, min=-2147483648) from p1.id \
         through foreign key `ch_x_fkey`, but it also references p2.id, which is copied unchanged, so \
         transformed children would be orphans: set the same transformer on p2.id"
    );
    let set_too = format!("{inherited}[transform.ch]\nx = \"hash\"\n");
    let e = sync(&set_too).expect_err("refused").to_string();
    assert!(
        e.contains(
            "foreign key `ch_x_p2`: ch.x has transformer hash, but the column it references, p2.id, is copied \
             unchanged"
        ),
        "{e}"
    );
    let e = sync(&inherited).expect_err("refused").to_string();
    assert!(e.contains("foreign key `ch_x_p2`"), "{e}");
    // Nothing was written.
    let tables = dest.query("select count(*) from information_schema.tables where table_schema = 'public'");
    assert_eq!(norm(&tables[0][0]), "0");
    // With p2.id transformed alike, every child finds both parents.
    let report = sync(&format!("{inherited}[transform.p2]\nid = \"hash\"\n")).expect("sync");
    assert!(report.ok, "{report:?}");
    let orphans = dest.query(
        "select count(*) from ch where not exists (select 1 from p1 where p1.id = ch.x) \
         or not exists (select 1 from p2 where p2.id = ch.x) or ch.x = ch.id",
    );
    assert_eq!(norm(&orphans[0][0]), "0");
}

#[test]
fn a_partly_null_composite_fk_under_a_key_map_gets_the_keyed_hash_of_its_values() {
    // s.(o, n) -> l.(o, n), MATCH SIMPLE: (NULL, 1) references no row of l, so neither
    // l's new value nor l's row is there for the js function; 1 must not leak either.
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "create table l(o int, n int, qty int, primary key(o, n));
         create table s(id int primary key, o int, n int, foreign key (o, n) references l(o, n));
         insert into l values (1, 1, 5), (1, 2, 7);
         insert into s values (1, 1, 1), (2, null, 1), (3, null, 1), (4, null, 2), (5, 1, 2), (6, null, null);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let text = format!(
        "seed = \"x\"\n{}[transform.l]\nn = {{ kind = \"js\", code = \"(v, row) => v + row.qty * 10\" }}\n",
        job(&src, &[&dest], "")
    );
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    assert_eq!(rows(&dest, "l", "o, n"), [["1", "51", "5"], ["1", "72", "7"]]);
    let column = tether_schema::Column {
        name: "n".into(),
        engine_type: "integer".into(),
        normalized_type: "int".parse().expect("type"),
        nullable: true,
        default: None,
        identity: None,
        generated: None,
    };
    let hash = tether_transform::build(
        &tether_transform::TransformSpec::new("hash"),
        &column,
        &tether_transform::Seed::new("x"),
    )
    .expect("hash");
    let h = |v: i64| {
        let out = hash
            .apply(&tether_schema::Value::Int(v), &tether_transform::RowView::EMPTY)
            .expect("hash");
        norm(&Some(out.display()))
    };
    assert_ne!(h(1), "1");
    let row = |id: &str, o: &str, n: String| vec![id.to_string(), o.to_string(), n];
    assert_eq!(
        rows(&dest, "s", "id"),
        [
            row("1", "1", "51".into()),
            row("2", "NULL", h(1)),
            row("3", "NULL", h(1)),
            row("4", "NULL", h(2)),
            row("5", "1", "72".into()),
            row("6", "NULL", "NULL".into()),
        ]
    );
}

/// A transformed key the source compares without case or trailing spaces (MariaDB's
/// default `_ci` collation, PostgreSQL citext): a child spelling its parent's key
/// otherwise ('ABC' for 'abc', 'k' for 'k ') was transformed from its own bytes and
/// pointed at no parent. It takes its parent's spelling first, so its new value is its
/// parent's, on every destination engine.
#[test]
fn a_transformed_caseless_key_gives_each_child_its_parent_s_new_value() {
    let mariadb = "CREATE TABLE p (code varchar(20) PRIMARY KEY, name varchar(50));
         CREATE TABLE c (id int PRIMARY KEY, pcode varchar(20), FOREIGN KEY (pcode) REFERENCES p (code));
         INSERT INTO p VALUES ('abc', 'first'), ('xyz', 'second'), ('k ', 'third');
         INSERT INTO c VALUES (1, 'abc'), (2, 'ABC'), (3, 'Xyz'), (4, 'k'), (5, 'k  '), (6, NULL);";
    let citext = "CREATE EXTENSION IF NOT EXISTS citext;
         CREATE TABLE p (code citext PRIMARY KEY, name text);
         CREATE TABLE c (id int PRIMARY KEY, pcode citext REFERENCES p (code));
         INSERT INTO p VALUES ('abc', 'first'), ('xyz', 'second'), ('Émile', 'third');
         INSERT INTO c VALUES (1, 'abc'), (2, 'ABC'), (3, 'XyZ'), (4, 'émile'), (5, 'ÉMILE'), (6, NULL);";
    for (from, ddl) in [(Engine::Mysql, mariadb), (Engine::Postgres, citext)] {
        let src = TestDb::create(from);
        src.exec(ddl);
        // Each child's parent, by name, as the source's own comparison finds it.
        let parent_of = map(&src, "SELECT c.id, p.name FROM c LEFT JOIN p ON p.code = c.pcode");
        for to in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
            let dest = TestDb::create(to);
            let text = format!(
                "seed = \"s\"\n{}[transform.p]\ncode = \"hash\"\n",
                job(&src, &[&dest], "")
            );
            let report = sync(&text).unwrap_or_else(|e| panic!("{from} -> {to}: {e}"));
            assert!(report.ok, "{from} -> {to}: {report:?}");
            let new_code = map(&dest, "SELECT name, code FROM p");
            let old_code = map(&src, "SELECT name, code FROM p");
            for (name, code) in &new_code {
                assert_ne!(code, &old_code[name], "{from} -> {to}: {name} kept its key");
            }
            let got = map(&dest, "SELECT id, pcode FROM c");
            assert_eq!(got.len(), 6, "{from} -> {to}");
            for (id, parent) in &parent_of {
                let want = match parent.as_str() {
                    "NULL" => "NULL".to_string(),
                    name => new_code[name].clone(),
                };
                assert_eq!(got[id], want, "{from} -> {to}: child {id} of {parent}");
            }
            let orphans = dest.query(
                "SELECT count(*) FROM c LEFT JOIN p ON p.code = c.pcode WHERE c.pcode IS NOT NULL AND p.code IS NULL",
            );
            assert_eq!(norm(&orphans[0][0]), "0", "{from} -> {to}");
        }
    }
}

#[test]
fn generate_hash_on_integer_keys_and_order_keeping_generate_date_shift_are_fresh_every_run() {
    // The reviewer's job (F-GEN): the same seed, two runs. Children follow their parent
    // within a run; the keys and the order-keeping dates differ between runs.
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, d DATE, e DATE);
         CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id), d DATE);
         INSERT INTO t VALUES (1, 'one', '2020-01-01', '2020-01-01'), (2, 'two', '2021-06-15', '2021-06-15'),
                              (3, 'three', '2021-06-16', '2021-06-16');
         INSERT INTO c VALUES (10, 1, '2020-01-01'), (11, 2, '2020-02-01'), (12, 2, '2020-03-01'), (13, 3, NULL);",
    );
    let tf = "[transform.t]\nid = \"generate_hash\"\n\
              d = { kind = \"generate_date_shift\", max_days = 30, keep_order = true }\n\
              e = { kind = \"generate_date_shift\", max_days = 30 }\n\
              [transform.c]\nd = { kind = \"generate_date_shift\", max_days = 30, keep_order = true }\n";
    let dest = TestDb::create(Engine::Postgres);
    let run = || {
        let report = sync(&format!("seed = \"abc\"\n{}{tf}", job(&src, &[&dest], ""))).expect("sync");
        assert!(report.ok, "{report:?}");
        // Each child still belongs to the parent of the same name.
        let owners = dest.query("SELECT c.id, t.name FROM c JOIN t ON t.id = c.t_id ORDER BY c.id");
        let owners: Vec<(String, String)> = owners.iter().map(|r| (norm(&r[0]), norm(&r[1]))).collect();
        assert_eq!(
            owners,
            [("10", "one"), ("11", "two"), ("12", "two"), ("13", "three")].map(|(a, b)| (a.to_string(), b.to_string()))
        );
        let parents = rows(&dest, "t", "name");
        // Dates in order stay in order (keep_order), none kept.
        let d: Vec<String> = dest
            .query("SELECT d::text FROM t ORDER BY name = 'one' DESC, name = 'two' DESC")
            .iter()
            .map(|r| norm(&r[0]))
            .collect();
        assert!(d[0] <= d[1] && d[1] <= d[2], "{d:?}");
        assert!(!d.contains(&"2020-01-01".to_string()) && !d.contains(&"2021-06-15".to_string()));
        (parents, rows(&dest, "c", "id"))
    };
    let (first, second) = (run(), run());
    let id_and_d = |r: &(Vec<Vec<String>>, Vec<Vec<String>>)| {
        r.0.iter()
            .map(|row| (row[0].clone(), row[2].clone()))
            .collect::<Vec<_>>()
    };
    let (a, b) = (id_and_d(&first), id_and_d(&second));
    for (x, y) in a.iter().zip(&b) {
        assert_ne!(x.0, y.0, "generate_hash gave the same id in two runs: {a:?} {b:?}");
    }
    assert_ne!(
        a.iter().map(|x| &x.1).collect::<Vec<_>>(),
        b.iter().map(|x| &x.1).collect::<Vec<_>>(),
        "keep_order generate_date_shift gave the same dates in two runs"
    );
    assert_ne!(first.1, second.1, "the children's dates too");
}

#[test]
fn hash_on_an_unsigned_bigint_key_fits_signed_destinations_or_the_plan_names_the_column() {
    // The reviewer's scenario (F-UNSIGNED): Laravel's `id()` on MariaDB into PostgreSQL and
    // SQLite, whose bigint / INTEGER hold [-2^63, 2^63 - 1], in one job.
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE p (id bigint unsigned AUTO_INCREMENT PRIMARY KEY, name varchar(20) NOT NULL);
         CREATE TABLE c (id int PRIMARY KEY, p_id bigint unsigned NOT NULL, FOREIGN KEY (p_id) REFERENCES p (id));
         INSERT INTO p (name) VALUES ('n1'), ('n2'), ('n3'), ('n4'), ('n5'), ('n6'), ('n7'), ('n8');
         INSERT INTO c VALUES (1, 1), (2, 2), (3, 2), (4, 8), (5, 5);",
    );
    let (pg, lite) = (TestDb::create(Engine::Postgres), TestDb::create(Engine::Sqlite));
    let text = format!(
        "seed = \"k\"\n{}[transform.p]\nid = \"hash\"\n",
        job(&src, &[&pg, &lite], "")
    );
    let plan = plan_of(&text).to_text();
    for line in [
        "transform: id = hash(max=9223372036854775807, min=0) (set here; range narrowed to [0, 9223372036854775807]: \
         destination #1",
        "transform: p_id = hash(max=9223372036854775807, min=0) (inherited through FK",
    ] {
        assert!(plan.contains(line), "missing {line:?} in\n{plan}");
    }
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    let owners = "SELECT c.id, p.name FROM c JOIN p ON p.id = c.p_id ORDER BY c.id";
    for dest in [&pg, &lite] {
        assert_eq!(dest.query(owners), src.query(owners), "{}", dest.engine);
        for r in dest.query("SELECT id FROM p") {
            let id: i128 = norm(&r[0]).parse().expect("integer");
            assert!((1..=i64::MAX as i128).contains(&id) && id > 8, "{}: {id}", dest.engine);
        }
    }
    assert_eq!(
        pg.query("SELECT id FROM p ORDER BY name"),
        lite.query("SELECT id FROM p ORDER BY name"),
        "both destinations get the same ids"
    );

    // A range the job sets that a destination column does not hold: refused by the plan,
    // naming that column (an existing table whose p_id is a plain integer).
    let small = TestDb::create(Engine::Postgres);
    small.exec(
        "CREATE TABLE p (id bigint PRIMARY KEY, name varchar(20) NOT NULL);
         CREATE TABLE c (id int PRIMARY KEY, p_id integer NOT NULL REFERENCES p (id));",
    );
    let text = format!(
        "seed = \"k\"\n{}[transform.p]\nid = {{ kind = \"hash\", min = 1, max = 9999999999 }}\n",
        job(&src, &[&small], "")
    );
    let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let e = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(tether_sync::prepare(&job))
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("transformer `hash(max=9999999999, min=1)` on p.id writes values in [1, 9999999999], but destination #1 ")
            && e.contains("column c.p_id is integer there, which holds [-2147483648, 2147483647]; set `min`/`max` in [transform.p] id"),
        "{e}"
    );
    assert_eq!(small.query("SELECT count(*) FROM c")[0][0].as_deref(), Some("0"));
}

#[test]
fn text_transformers_are_cut_to_the_narrowest_destination_column_or_refused_when_they_may_not_be() {
    // An existing destination column narrower than the source's: the outputs are cut to
    // it (truncate = true, the default), or the plan names it (truncate = false).
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE person (id INTEGER PRIMARY KEY, email varchar(60) NOT NULL);
         INSERT INTO person VALUES (1, 'ann@example.com'), (2, 'bob.builder@example.org'), (3, 'cy@x.io');",
    );
    let dest = TestDb::create(Engine::Postgres);
    dest.exec("CREATE TABLE person (id int PRIMARY KEY, email varchar(12) NOT NULL);");
    let text = format!(
        "seed = \"s\"\n{}[transform.person]\nemail = \"email\"\n",
        job(&src, &[&dest], "")
    );
    let plan = plan_of(&text).to_text();
    assert!(
        plan.contains("transform: email = email(keep_domain=false, max_length=12, truncate=true, unique=false) (set here; cut to 12 characters: destination #1 "),
        "{plan}"
    );
    let report = sync(&text).expect("sync");
    assert!(report.ok, "{report:?}");
    let emails = dest.query("SELECT length(email) <= 12, email <> 'ann@example.com' FROM person ORDER BY id");
    assert_eq!(emails.len(), 3);
    for r in emails {
        assert_eq!((r[0].as_deref(), r[1].as_deref()), (Some("t"), Some("t")));
    }
    let text = format!(
        "seed = \"s\"\n{}[transform.person]\nemail = {{ kind = \"email\", truncate = false }}\n",
        job(&src, &[&dest], "")
    );
    let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let e = tokio::runtime::Runtime::new()
        .expect("rt")
        .block_on(tether_sync::prepare(&job))
        .err()
        .expect("refused")
        .to_string();
    assert!(
        e.contains("on person.email writes text of up to 60 characters (truncate = false), but destination #1 ")
            && e.contains(
                "column person.email is character varying(12) there, which holds 12 characters; set `max_length`"
            ),
        "{e}"
    );
}

#[test]
fn the_plan_says_which_check_reads_a_transformed_column() {
    // F-CHECK: `hash` writes 32 characters where a CHECK wants 6; the plan says so on the
    // column (the destination checks it only after the load).
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE sku (id int PRIMARY KEY, code text NOT NULL CONSTRAINT sku_code_check CHECK (length(code) = 6),
           qty int CONSTRAINT sku_qty_check CHECK (qty >= 0));
         INSERT INTO sku VALUES (1, 'abcdef', 3);",
    );
    let dest = TestDb::create(Engine::Sqlite);
    let plan = plan_of(&format!(
        "seed = \"s\"\n{}[transform.sku]\ncode = \"hash\"\nqty = {{ kind = \"int_range\", min = 0, max = 9 }}\n",
        job(&src, &[&dest], "")
    ))
    .to_text();
    for line in [
        "transform: code = hash(alphabet=\"hex\", length=32, max_length=0, truncate=true) (set here; CHECK sku_code_check reads this column: the new values must pass it)",
        "transform: qty = int_range(max=9, min=0) (set here; CHECK sku_qty_check reads this column: the new values must pass it)",
    ] {
        assert!(plan.contains(line), "missing {line:?} in\n{plan}");
    }
}
