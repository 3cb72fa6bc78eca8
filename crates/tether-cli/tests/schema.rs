//! `tether schema` against real SQLite, PostgreSQL and MariaDB: the same schema,
//! written once per engine, must introspect into the same model.

use serde_json::Value;
use tether_testkit::{chinook_dir, load_chinook_script, TestDb, TestEngine as Engine};

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

fn schema_json(url: &str, extra: &[&str]) -> Value {
    let mut args = vec!["schema", url, "--format", "json"];
    args.extend_from_slice(extra);
    let (code, out, err) = tether(&args);
    assert_eq!(code, 0, "tether schema {url} failed: {err}");
    serde_json::from_str(&out).expect("valid JSON")
}

/// The shared part of the test schema. `{fk_later}` statements add the FKs that
/// close cycles (SQLite declares them inline instead).
const COMMON: &str = "
CREATE TABLE region (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL);
CREATE TABLE product (id BIGINT NOT NULL PRIMARY KEY, sku VARCHAR(20) NOT NULL, price DECIMAL(10,2) NOT NULL,
  CONSTRAINT product_sku_key UNIQUE (sku));
CREATE TABLE customer (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(80) NOT NULL, region_id BIGINT NOT NULL,
  default_address_id BIGINT NULL,
  CONSTRAINT customer_region_fk FOREIGN KEY (region_id) REFERENCES region (id) ON DELETE RESTRICT ON UPDATE CASCADE
  {customer_inline});
CREATE TABLE address (id BIGINT NOT NULL PRIMARY KEY, customer_id BIGINT NOT NULL, line1 VARCHAR(100) NOT NULL,
  CONSTRAINT address_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE ON UPDATE CASCADE);
CREATE TABLE employee (id BIGINT NOT NULL PRIMARY KEY, manager_id BIGINT NULL,
  CONSTRAINT employee_manager_fk FOREIGN KEY (manager_id) REFERENCES employee (id) ON DELETE SET NULL ON UPDATE CASCADE);
CREATE TABLE orders (id BIGINT NOT NULL PRIMARY KEY, customer_id BIGINT NOT NULL, code VARCHAR(20) NOT NULL,
  CONSTRAINT orders_customer_code_key UNIQUE (customer_id, code),
  CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE NO ACTION ON UPDATE RESTRICT);
CREATE TABLE order_item (order_id BIGINT NOT NULL, line_no INT NOT NULL, product_sku VARCHAR(20) NOT NULL, qty INT NOT NULL,
  PRIMARY KEY (order_id, line_no),
  CONSTRAINT order_item_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE ON UPDATE CASCADE,
  CONSTRAINT order_item_product_fk FOREIGN KEY (product_sku) REFERENCES product (sku) ON DELETE RESTRICT ON UPDATE CASCADE);
CREATE TABLE shipment (id BIGINT NOT NULL PRIMARY KEY, order_id BIGINT NULL, line_no INT NULL,
  CONSTRAINT shipment_item_fk FOREIGN KEY (order_id, line_no) REFERENCES order_item (order_id, line_no)
    ON DELETE SET NULL ON UPDATE CASCADE);
CREATE TABLE team (id BIGINT NOT NULL PRIMARY KEY, captain_id BIGINT NOT NULL {team_inline});
CREATE TABLE player (id BIGINT NOT NULL PRIMARY KEY, team_id BIGINT NOT NULL,
  CONSTRAINT player_team_fk FOREIGN KEY (team_id) REFERENCES team (id) ON DELETE CASCADE ON UPDATE CASCADE);
";

const CUSTOMER_ADDRESS_FK: &str = "CONSTRAINT customer_default_address_fk FOREIGN KEY (default_address_id) REFERENCES address (id) ON DELETE SET NULL ON UPDATE NO ACTION";
const TEAM_CAPTAIN_FK: &str =
    "CONSTRAINT team_captain_fk FOREIGN KEY (captain_id) REFERENCES player (id) ON DELETE RESTRICT ON UPDATE CASCADE";

/// SET DEFAULT and deferrable FKs: PostgreSQL and SQLite only (InnoDB rejects SET DEFAULT).
const COUPON: &str = "
CREATE TABLE coupon (id BIGINT NOT NULL PRIMARY KEY, product_sku VARCHAR(20) NULL DEFAULT 'NONE',
  CONSTRAINT coupon_product_fk FOREIGN KEY (product_sku) REFERENCES product (sku)
    ON DELETE SET DEFAULT ON UPDATE SET DEFAULT DEFERRABLE INITIALLY DEFERRED);
";

fn ddl(engine: Engine) -> String {
    let inline = |fk: &str| format!(",\n  {fk}");
    match engine {
        Engine::Sqlite => {
            COMMON
                .replace("{customer_inline}", &inline(CUSTOMER_ADDRESS_FK))
                .replace("{team_inline}", &inline(TEAM_CAPTAIN_FK))
                + COUPON
        }
        _ => {
            let mut s = COMMON.replace("{customer_inline}", "").replace("{team_inline}", "");
            s += &format!("ALTER TABLE customer ADD {CUSTOMER_ADDRESS_FK};\nALTER TABLE team ADD {TEAM_CAPTAIN_FK};\n");
            if engine == Engine::Postgres {
                s += COUPON;
                s += "CREATE SCHEMA billing;
                      CREATE TABLE billing.invoice (id BIGINT NOT NULL PRIMARY KEY, order_id BIGINT NOT NULL,
                        CONSTRAINT invoice_order_fk FOREIGN KEY (order_id) REFERENCES public.orders (id) ON DELETE CASCADE ON UPDATE NO ACTION);";
            }
            s
        }
    }
}

/// Keeps what must agree across engines: names, neutral types, nullability, keys,
/// FKs with actions, cycles and the load order.
fn comparable(mut v: Value, drop_tables: &[&str]) -> Value {
    let obj = v.as_object_mut().expect("object");
    obj.remove("engine");
    obj.remove("default_schema");
    // Definitions as each engine prints them (indexes, triggers, views): not neutral.
    obj.remove("objects");
    let keep = |name: &str| !drop_tables.contains(&name);
    let tables = obj["tables"].as_array_mut().expect("tables");
    tables.retain(|t| keep(t["name"].as_str().unwrap_or("")) && t["schema"].as_str().is_none_or(|s| s == "public"));
    for t in tables.iter_mut() {
        let t = t.as_object_mut().expect("table");
        t.remove("schema");
        t.remove("extras");
        for c in t["columns"].as_array_mut().expect("columns") {
            let c = c.as_object_mut().expect("column");
            for k in ["type", "default", "identity", "generated"] {
                c.remove(k);
            }
        }
        for fk in t["foreign_keys"].as_array_mut().expect("fks") {
            fk.as_object_mut().expect("fk").remove("referenced_schema");
        }
    }
    obj["load_order"]
        .as_array_mut()
        .expect("list")
        .retain(|n| keep(n.as_str().unwrap_or("")) && !n.as_str().unwrap_or("").contains('.'));
    for level in obj["load_levels"].as_array_mut().expect("levels") {
        level
            .as_array_mut()
            .expect("level")
            .retain(|n| keep(n.as_str().unwrap_or("")) && !n.as_str().unwrap_or("").contains('.'));
    }
    obj["load_levels"]
        .as_array_mut()
        .expect("levels")
        .retain(|l| !l.as_array().expect("level").is_empty());
    v
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_str().expect("string"))
        .collect()
}

fn table<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name}"))
}

fn fk<'a>(t: &'a Value, name: &str) -> &'a Value {
    t["foreign_keys"]
        .as_array()
        .expect("fks")
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("no fk {name}"))
}

#[test]
fn one_schema_introspects_to_one_model_on_all_three_engines() {
    let dbs: Vec<TestDb> = [Engine::Sqlite, Engine::Postgres, Engine::Mysql]
        .into_iter()
        .map(TestDb::create)
        .collect();
    for db in &dbs {
        db.exec(&ddl(db.engine));
    }
    let [lite, pg, my] = [&dbs[0], &dbs[1], &dbs[2]].map(|db| schema_json(&db.url, &[]));

    // The specification, checked on SQLite; the other engines must then equal it.
    assert_eq!(
        strs(&lite["load_order"]),
        [
            "employee",
            "player",
            "team",
            "product",
            "coupon",
            "region",
            "customer",
            "address",
            "orders",
            "order_item",
            "shipment"
        ]
    );
    let cycles = lite["cycles"].as_array().expect("cycles");
    assert_eq!(cycles.len(), 3);
    let by_first = |name: &str| {
        cycles
            .iter()
            .find(|c| c["tables"][0] == name)
            .unwrap_or_else(|| panic!("no cycle at {name}"))
    };
    assert_eq!(strs(&by_first("employee")["tables"]), ["employee"]);
    assert_eq!(strs(&by_first("employee")["breakable"]), ["employee_manager_fk"]);
    assert_eq!(strs(&by_first("customer")["tables"]), ["customer", "address"]);
    assert_eq!(
        strs(&by_first("customer")["breakable"]),
        ["customer_default_address_fk"]
    );
    assert_eq!(by_first("customer")["can_break"], true);
    assert_eq!(strs(&by_first("player")["tables"]), ["player", "team"]);
    assert!(by_first("player")["breakable"].as_array().expect("list").is_empty());
    assert_eq!(by_first("player")["can_break"], false);

    let shipment = table(&lite, "shipment");
    let composite = fk(shipment, "shipment_item_fk");
    assert_eq!(strs(&composite["columns"]), ["order_id", "line_no"]);
    assert_eq!(strs(&composite["referenced_columns"]), ["order_id", "line_no"]);
    assert_eq!(
        (composite["on_delete"].as_str(), composite["on_update"].as_str()),
        (Some("SET NULL"), Some("CASCADE"))
    );
    let item = table(&lite, "order_item");
    assert_eq!(strs(&item["primary_key"]), ["order_id", "line_no"]);
    let to_unique = fk(item, "order_item_product_fk");
    assert_eq!(to_unique["referenced_table"], "product");
    assert_eq!(strs(&to_unique["referenced_columns"]), ["sku"]);
    assert_eq!(to_unique["on_delete"], "RESTRICT");
    let orders = table(&lite, "orders");
    assert_eq!(fk(orders, "orders_customer_fk")["on_delete"], "NO ACTION");
    assert_eq!(fk(orders, "orders_customer_fk")["on_update"], "RESTRICT");
    assert_eq!(orders["unique_keys"][0]["name"], "orders_customer_code_key");
    assert_eq!(strs(&orders["unique_keys"][0]["columns"]), ["customer_id", "code"]);
    let coupon_fk = fk(table(&lite, "coupon"), "coupon_product_fk");
    assert_eq!(
        (coupon_fk["on_delete"].as_str(), coupon_fk["on_update"].as_str()),
        (Some("SET DEFAULT"), Some("SET DEFAULT"))
    );
    assert_eq!(
        (
            coupon_fk["deferrable"].as_bool(),
            coupon_fk["initially_deferred"].as_bool()
        ),
        (Some(true), Some(true))
    );
    let price = &table(&lite, "product")["columns"][2];
    assert_eq!(
        (price["name"].as_str(), price["normalized_type"].as_str()),
        (Some("price"), Some("decimal(10,2)"))
    );
    assert!(lite["tables"][0]["schema"].is_null());

    // PostgreSQL: same model, plus the cross-schema FK.
    assert_eq!(comparable(pg.clone(), &[]), comparable(lite.clone(), &[]));
    let invoice = pg["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["schema"] == "billing")
        .expect("billing.invoice");
    let cross = fk(invoice, "invoice_order_fk");
    assert_eq!(
        (cross["referenced_schema"].as_str(), cross["referenced_table"].as_str()),
        (Some("public"), Some("orders"))
    );
    assert_eq!(table(&pg, "orders")["schema"], "public");
    let order = strs(&pg["load_order"]);
    let pos = |n: &str| {
        order
            .iter()
            .position(|x| *x == n)
            .unwrap_or_else(|| panic!("{n} not in load order"))
    };
    assert!(pos("billing.invoice") > pos("orders"));

    // MariaDB: same model without the SET DEFAULT table.
    assert_eq!(comparable(my.clone(), &[]), comparable(lite.clone(), &["coupon"]));
}

#[test]
fn postgres_schema_filter_reads_only_the_chosen_schemas() {
    let db = TestDb::create(Engine::Postgres);
    db.exec(
        "CREATE SCHEMA a; CREATE SCHEMA b;
             CREATE TABLE a.parent (id INT PRIMARY KEY);
             CREATE TABLE b.child (id INT PRIMARY KEY, parent_id INT REFERENCES a.parent (id));",
    );
    let only_b = schema_json(&db.url, &["--schema", "b"]);
    let names: Vec<&str> = only_b["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["child"]);
    // The FK to the unread schema is still reported, but it is not a graph edge.
    assert_eq!(only_b["tables"][0]["foreign_keys"][0]["referenced_schema"], "a");
    assert_eq!(strs(&only_b["load_order"]), ["b.child"]);

    let (code, _, err) = tether(&["schema", &db.url, "--schema", "nope"]);
    assert_eq!(code, 1);
    assert!(err.contains("schema `nope` does not exist"), "{err}");
}

fn chinook_checks(v: &Value, employee: &str) {
    let fks: usize = v["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["foreign_keys"].as_array().expect("fks").len())
        .sum();
    assert_eq!(fks, 11);
    assert_eq!(v["tables"].as_array().expect("tables").len(), 11);
    let cycles = v["cycles"].as_array().expect("cycles");
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert_eq!(strs(&cycles[0]["tables"]), [employee]);
    assert_eq!(cycles[0]["can_break"], true);
    assert_eq!(cycles[0]["breakable"].as_array().expect("list").len(), 1);
    assert_eq!(v["load_order"].as_array().expect("order").len(), 11);
}

#[test]
fn chinook_has_eleven_fks_and_a_breakable_self_reference_on_every_engine() {
    let Some(dir) = chinook_dir() else {
        eprintln!("skipped: ../shared/datasets/chinook is not present");
        return;
    };
    let lite = schema_json(dir.join("chinook.sqlite").to_str().expect("utf-8 path"), &[]);
    chinook_checks(&lite, "Employee");

    let pg = TestDb::create(Engine::Postgres);
    load_chinook_script(&pg, "chinook_postgresql.sql");
    chinook_checks(&schema_json(&pg.url, &[]), "employee");

    let my = TestDb::create(Engine::Mysql);
    load_chinook_script(&my, "chinook_mysql.sql");
    let my_json = schema_json(&my.url, &[]);
    chinook_checks(&my_json, "Employee");
    // Named FKs and their columns in order, as declared in the MySQL script.
    let line = table(&my_json, "InvoiceLine");
    let track = fk(line, "FK_InvoiceLineTrackId");
    assert_eq!(
        (track["referenced_table"].as_str(), strs(&track["columns"])),
        (Some("Track"), vec!["TrackId"])
    );
}

#[test]
fn the_text_listing_shows_badges_cycles_and_load_order() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(&ddl(Engine::Sqlite));
    let (code, out, err) = tether(&["schema", &db.url]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("sqlite database: 11 tables, 11 foreign keys\n"),
        "{out}"
    );
    let shipment_line = out
        .lines()
        .find(|l| l.trim_start().starts_with("order_id") && l.contains("order_item("))
        .expect("badge line");
    assert!(
        shipment_line
            .contains("FK -> order_item(order_id, line_no) ON DELETE SET NULL ON UPDATE CASCADE [shipment_item_fk]"),
        "{shipment_line}"
    );
    assert!(
        out.contains("\nregion\n  id    BIGINT       NOT NULL  PK\n  name  VARCHAR(40)  NOT NULL\n\n"),
        "{out}"
    );
    assert!(
        out.contains("customer <-> address: breakable; loads with customer_default_address_fk NULL, then updated"),
        "{out}"
    );
    assert!(
        out.contains("player <-> team: not breakable (no nullable foreign key)"),
        "{out}"
    );
    assert!(out.contains("employee (self-reference): breakable"), "{out}");
    assert!(
        out.contains("\n  1. employee, player, team, product, region\n"),
        "{out}"
    );

    let (_, dot, _) = tether(&["schema", &db.url, "--format", "dot"]);
    assert!(
        dot.contains("\"shipment\" -> \"order_item\" [label=\"shipment_item_fk\"];"),
        "{dot}"
    );
    assert!(
        dot.contains("\"customer\" -> \"address\" [label=\"customer_default_address_fk\", color=orange];"),
        "{dot}"
    );
    let (_, mermaid, _) = tether(&["schema", &db.url, "--format", "mermaid"]);
    assert!(mermaid.starts_with("erDiagram\n"));
    assert!(
        mermaid.contains("  order_item ||--o{ shipment : \"shipment_item_fk\"")
            || mermaid.contains("  order_item |o--o{ shipment : \"shipment_item_fk\""),
        "{mermaid}"
    );
}

#[test]
fn virtual_fks_are_merged_marked_and_validated_with_their_line() {
    let db = TestDb::create(Engine::Mysql);
    db.exec(
        "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20));
             CREATE TABLE events (id INT PRIMARY KEY, user_ref INT NULL, actor INT NULL);",
    );
    let dir = tether_testkit::ScratchDir::new("vfk");
    let good = dir.join("good.toml");
    std::fs::write(&good, "[[virtual_foreign_keys]]\nname = \"events_user_vfk\"\ntable = \"events\"\ncolumns = [\"user_ref\"]\nreferenced_table = \"users\"\n").expect("write");
    let v = schema_json(&db.url, &["--virtual-fks", good.to_str().expect("utf-8")]);
    let f = fk(table(&v, "events"), "events_user_vfk");
    assert_eq!(f["virtual"], true);
    assert_eq!(strs(&f["referenced_columns"]), ["id"]);
    assert_eq!(strs(&v["load_order"]), ["users", "events"]);
    let (_, text, _) = tether(&["schema", &db.url, "--virtual-fks", good.to_str().expect("utf-8")]);
    assert!(text.contains("FK (virtual) -> users(id)"), "{text}");

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[[virtual_foreign_keys]]\ntable = \"events\"\ncolumns = [\"user_ref\"]\nreferenced_table = \"users\"\n\n[[virtual_foreign_keys]]\ntable = \"events\"\ncolumns = [\"nope\"]\nreferenced_table = \"users\"\n").expect("write");
    let (code, out, err) = tether(&["schema", &db.url, "--virtual-fks", bad.to_str().expect("utf-8")]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert_eq!(
        err.trim(),
        "error: virtual foreign key events_nope_vfk (line 6): column `events`.`nope` does not exist"
    );

    std::fs::write(
        &bad,
        "[[virtual_foreign_keys]]\ntable = \"events\"\ncolumns = [\"actor\"]\nreferenced_table = \"people\"\n",
    )
    .expect("write");
    let (code, _, err) = tether(&["schema", &db.url, "--virtual-fks", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(
        err.contains("(line 1): referenced table `people` does not exist"),
        "{err}"
    );

    std::fs::write(
        &bad,
        "[[virtual_foreign_keys]]\ntable = \"events\"\ncolumn = [\"actor\"]\n",
    )
    .expect("write");
    let (code, _, err) = tether(&["schema", &db.url, "--virtual-fks", bad.to_str().expect("utf-8")]);
    assert_eq!(code, 2);
    assert!(err.contains("line 3: unknown field `column`"), "{err}");
}

#[test]
fn bad_input_gives_one_line_errors_and_meaningful_exit_codes() {
    let one_line = |err: &str| {
        assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
        assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    };

    let (code, _, err) = tether(&["schema", "oracle://scott:tiger@db/x"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim(), "error: unknown database URL `oracle://scott:***@db/x`: expected sqlite://PATH, a .sqlite/.db file, postgres://... or mysql://...");

    let (code, _, err) = tether(&["schema", "/nonexistent/dir/shop.sqlite"]);
    assert_eq!(code, 3);
    assert_eq!(
        err.trim(),
        "error: SQLite database file not found: /nonexistent/dir/shop.sqlite"
    );

    let (code, _, err) = tether(&["schema", "postgres://postgres:hunter2@127.0.0.1:1/shop"]);
    assert_eq!(code, 3);
    one_line(&err);
    assert!(
        err.starts_with("error: cannot connect to postgres://postgres:***@127.0.0.1:1/shop: "),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");

    let (code, _, err) = tether(&["schema", "mysql://root:hunter2@127.0.0.1:1/shop"]);
    assert_eq!(code, 3);
    one_line(&err);
    assert!(
        err.starts_with("error: cannot connect to mysql://root:***@127.0.0.1:1/shop: "),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");

    // Bad credentials: a user the server does not know.
    let my_admin = tether_testkit::mysql_admin_url();
    let my_host = my_admin.rsplit('@').next().expect("host").trim_end_matches('/');
    let (code, _, err) = tether(&["schema", &format!("mysql://nobody_here:hunter2@{my_host}/mysql")]);
    assert_eq!(code, 3);
    one_line(&err);
    assert!(
        err.contains("server error 1045 (28000): Access denied for user 'nobody_here'"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");

    let pg_admin = tether_testkit::pg_admin_url();
    let pg_host = pg_admin
        .rsplit('@')
        .next()
        .expect("host")
        .split('/')
        .next()
        .expect("host");
    let (code, _, err) = tether(&["schema", &format!("postgres://nobody_here:hunter2@{pg_host}/postgres")]);
    assert_eq!(code, 3);
    one_line(&err);
    assert!(err.contains("nobody_here"), "{err}");
    assert!(err.contains("server error 28"), "{err}");

    let (code, _, err) = tether(&["schema", &format!("postgres://postgres@{pg_host}/no_such_db_here")]);
    assert_eq!(code, 3);
    assert!(
        err.contains("server error 3D000: database \"no_such_db_here\" does not exist"),
        "{err}"
    );

    let (code, _, err) = tether(&["schema", "mysql://root@127.0.0.1:1"]);
    assert_eq!(code, 2);
    assert!(err.contains("a MySQL URL needs a database"), "{err}");
}
