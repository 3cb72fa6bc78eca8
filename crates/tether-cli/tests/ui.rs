//! `tether ui` end to end: the page in headless Chromium (through ChromeDriver) against
//! a real PostgreSQL database, as a person uses it: badges, hover, editing a key's
//! transformer, a refused conflict, saving, and `tether plan` on the saved file.
//! Screenshots land in target/ui-screenshots/ to be looked at.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use tether_testkit::webdriver::{Browser, Element};
use tether_testkit::{ScratchDir, TestDb, TestEngine as Engine};

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

/// `tether plan JOB` with the job's seed variable set (the page itself needs no seed).
fn plan(job: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(["plan", job.to_str().expect("utf-8 path")])
        .env("TETHER_UI_TEST_SEED", "not a real secret")
        .output()
        .expect("run tether plan");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("ui_{name}"))
}

/// `ui-screenshots/` in the target directory (CARGO_TARGET_DIR when set).
fn screenshots() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("ui-screenshots")
}

/// `tether ui JOB --port 0`, stopped on drop.
struct Ui {
    child: Child,
    url: String,
}

impl Ui {
    fn start(job: &Path) -> Ui {
        Ui::start_with(job, &["--port", "0"])
    }

    fn start_with(job: &Path, args: &[&str]) -> Ui {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
            .args(["ui", job.to_str().expect("utf-8 path")])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tether ui");
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        stdout.read_line(&mut first).expect("tether ui prints its address");
        // Keep reading what else it prints.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in {first:?}"))
            .to_string();
        Ui { child, url }
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SCHEMA: &str = "
CREATE TABLE customer (id integer PRIMARY KEY, email text NOT NULL UNIQUE, name text, default_address_id integer);
CREATE TABLE address (id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customer(id) ON DELETE CASCADE, street text);
ALTER TABLE customer ADD CONSTRAINT customer_default_address_fk
    FOREIGN KEY (default_address_id) REFERENCES address(id) ON DELETE SET NULL;
CREATE TABLE employee (id integer PRIMARY KEY,
    manager_id integer CONSTRAINT employee_manager_fk REFERENCES employee(id) ON DELETE SET NULL, name text);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL, billing_address_id integer,
    handled_by integer,
    CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer(id) ON UPDATE CASCADE,
    CONSTRAINT orders_address_fk FOREIGN KEY (billing_address_id) REFERENCES address(id) ON DELETE SET NULL,
    CONSTRAINT orders_employee_fk FOREIGN KEY (handled_by) REFERENCES employee(id));
CREATE TABLE order_item (order_id integer REFERENCES orders(id) ON DELETE CASCADE, line integer,
    sku text, PRIMARY KEY (order_id, line));
CREATE TABLE shipment (id integer PRIMARY KEY, order_id integer, line integer,
    CONSTRAINT shipment_item_fk FOREIGN KEY (order_id, line) REFERENCES order_item(order_id, line));
CREATE TABLE audit (id integer PRIMARY KEY, customer_ref integer, note text);
INSERT INTO customer VALUES (1, 'ada@example.org', 'Ada', NULL), (2, 'bob@example.org', 'Bob', NULL);
INSERT INTO address VALUES (10, 1, '1 Main St'), (20, 2, '2 Side St');
UPDATE customer SET default_address_id = id * 10;
INSERT INTO employee VALUES (1, NULL, 'Boss'), (2, 1, 'Clerk');
INSERT INTO orders VALUES (100, 1, 10, 2), (200, 2, NULL, 1);
INSERT INTO order_item VALUES (100, 1, 'A'), (100, 2, 'B'), (200, 1, 'C');
INSERT INTO shipment VALUES (1, 100, 1), (2, 200, 1);
INSERT INTO audit VALUES (1, 1, 'login'), (2, 2, 'logout');
";

/// Every FK column of SCHEMA plus the job's virtual FK: (table.column) -> parent
/// table.column.
fn expected_fk_columns() -> BTreeMap<String, String> {
    [
        ("customer.default_address_id", "address.id"),
        ("address.customer_id", "customer.id"),
        ("employee.manager_id", "employee.id"),
        ("orders.customer_id", "customer.id"),
        ("orders.billing_address_id", "address.id"),
        ("orders.handled_by", "employee.id"),
        ("order_item.order_id", "orders.id"),
        ("shipment.order_id", "order_item.order_id"),
        ("shipment.line", "order_item.line"),
        ("audit.customer_ref", "customer.id"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

/// A job file, in a fresh scratch directory, copying `db` into a SQLite file beside it.
fn sqlite_job(db: &TestDb, name: &str) -> (ScratchDir, PathBuf) {
    let dir = scratch(name);
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"sqlite://{}/out.sqlite\"\n",
            db.url,
            dir.display()
        ),
    )
    .unwrap();
    (dir, job)
}

fn job_text(source: &str, out: &Path) -> String {
    format!(
        r#"# A test job: these comments must survive a save.
source = "{source}"
seed = "${{TETHER_UI_TEST_SEED}}"   # never needed by the page

[[destinations]]
url = "sqlite://{}"

[[virtual_foreign_keys]]
name = "audit_customer_vfk"
table = "audit"
columns = ["customer_ref"]
referenced_table = "customer"

# People's data.
[transform.customer]
email = {{ kind = "email", keep_domain = true }}   # support tests need real domains
"#,
        out.display()
    )
}

/// (table.column, parent) of every "Foreign Key" badge on the page.
fn badges(b: &Browser) -> BTreeMap<String, String> {
    let v = b.script(
        "return [...document.querySelectorAll('button.badge.fk')].map(x => [
            x.closest('section').dataset.table + '.' + x.closest('tr').dataset.column, x.dataset.parent]);",
        vec![],
    );
    v.as_array()
        .expect("array")
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_string(), p[1].as_str().unwrap().to_string()))
        .collect()
}

fn row(b: &Browser, table: &str, column: &str) -> Element {
    b.find(&format!("section[data-table=\"{table}\"] tr[data-column=\"{column}\"]"))
}

/// (data-origin, text) of a column's transformer cell, read in one step (the page
/// re-renders after each change).
fn transformer(b: &Browser, table: &str, column: &str) -> (String, String) {
    let selector = format!("section[data-table=\"{table}\"] tr[data-column=\"{column}\"] td.xf");
    let v = b.wait(&format!("the transformer cell of {table}.{column}"), || {
        let v = b.script(
            "const td = document.querySelector(arguments[0]); return td ? [td.dataset.origin, td.innerText] : null;",
            vec![json!(selector)],
        );
        (!v.is_null()).then_some(v)
    });
    (
        v[0].as_str().unwrap_or_default().to_string(),
        v[1].as_str().unwrap_or_default().trim().to_string(),
    )
}

fn open_editor(b: &Browser, table: &str, column: &str) {
    let _ = row(b, table, column);
    let edit = b.find(&format!(
        "section[data-table=\"{table}\"] tr[data-column=\"{column}\"] button.edit"
    ));
    b.click(&edit);
    let dialog = b.find("#editor");
    b.wait("the editor to open", || b.displayed(&dialog).then_some(()));
}

fn choose(b: &Browser, kind: &str, options: &str) {
    b.click(&b.find(&format!("#editor-kind option[value=\"{kind}\"]")));
    b.type_into(&b.find("#editor-options"), options);
    b.click(&b.find("#editor-apply"));
}

#[test]
fn the_mapping_page_shows_keys_inherits_transformers_refuses_conflicts_and_saves() {
    let db = TestDb::create(Engine::Postgres);
    db.exec(SCHEMA);
    let dir = scratch("page");
    let job = dir.join("job.toml");
    // A password the page must never show (the test server trusts, so any works).
    let source = db
        .url
        .replacen("postgres://postgres@", "postgres://postgres:pa55-w0rd-x@", 1);
    assert_ne!(source, db.url);
    let original = job_text(&source, &dir.join("out.sqlite"));
    std::fs::write(&job, &original).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&job, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let ui = Ui::start(&job);
    let b = Browser::start();
    b.goto(&ui.url);
    b.find("section.card");
    assert!(!b.displayed(&b.find("#error")), "{}", b.text(&b.find("#error")));
    let secret_shown = |b: &Browser| {
        b.script(
            "return document.documentElement.outerHTML.includes('pa55-w0rd-x');",
            vec![],
        )
    };
    assert_eq!(secret_shown(&b), json!(false));
    assert!(b
        .text(&b.find("#source"))
        .starts_with("postgres://postgres:***@127.0.0.1"));

    assert_eq!(
        b.text(&b.find("#summary")),
        "7 tables · 9 foreign keys (1 virtual) · 2 cycles · 1 transformer set · 0 inherited through foreign keys · 22 columns copied unchanged · 4 personal columns copied unchanged"
    );

    // The orange badge on exactly the FK columns, each naming its parent; the virtual one
    // marked virtual.
    assert_eq!(badges(&b), expected_fk_columns());
    let virtual_badge = b.find("section[data-table=\"audit\"] tr[data-column=\"customer_ref\"] button.badge.fk");
    assert_eq!(b.text(&virtual_badge), "Foreign Key · virtual");
    let color = b.script(
        "return getComputedStyle(arguments[0]).backgroundColor;",
        vec![Browser::arg(&virtual_badge)],
    );
    assert_eq!(color, json!("rgb(255, 244, 230)"), "light orange");
    let plain = b.find("section[data-table=\"orders\"] tr[data-column=\"customer_id\"] button.badge.fk");
    let color = b.script(
        "return getComputedStyle(arguments[0]).backgroundColor;",
        vec![Browser::arg(&plain)],
    );
    assert_eq!(color, json!("rgb(255, 233, 207)"), "light orange");

    // Hovering a badge shows the parent column and both actions; nothing shows before.
    let tip_of = |badge: &Element| {
        let id = b
            .attribute(badge, "aria-describedby")
            .expect("described by its tooltip");
        b.find(&format!("[id=\"{id}\"]"))
    };
    let tip = tip_of(&plain);
    assert!(!b.displayed(&tip), "the tooltip is hidden until hovered");
    b.hover(&plain);
    b.wait("the tooltip", || b.displayed(&tip).then_some(()));
    let text = b.text(&tip);
    assert!(text.contains("→ customer.id"), "{text}");
    assert!(text.contains("FK orders_customer_fk"), "{text}");
    assert!(text.contains("ON DELETE NO ACTION · ON UPDATE CASCADE"), "{text}");
    b.screenshot(&screenshots().join("pg-hover.png"));
    b.unhover();
    let composite = b.find("section[data-table=\"shipment\"] tr[data-column=\"line\"] button.badge.fk");
    b.hover(&composite);
    let tip = tip_of(&composite);
    b.wait("the composite FK's tooltip", || b.displayed(&tip).then_some(()));
    let text = b.text(&tip);
    assert!(text.contains("→ order_item.line"), "{text}");
    assert!(text.contains("(order_id, line) → (order_id, line)"), "{text}");
    b.unhover();
    // Keyboard users get the same on focus.
    let self_ref = b.find("section[data-table=\"employee\"] tr[data-column=\"manager_id\"] button.badge.fk");
    b.script("arguments[0].focus();", vec![Browser::arg(&self_ref)]);
    let tip = tip_of(&self_ref);
    b.wait("the tooltip on focus", || b.displayed(&tip).then_some(()));
    assert!(b.text(&tip).contains("→ employee.id"));
    assert!(b.text(&tip).contains("ON DELETE SET NULL"));

    // The cycle and the load order are on the page.
    let cycles = b.text(&b.find("#cycles"));
    assert!(
        cycles.contains("address ↔ customer") || cycles.contains("customer ↔ address"),
        "{cycles}"
    );
    let order = b.text(&b.find("#order"));
    assert!(
        order.find("employee").unwrap() < order.find("orders").unwrap(),
        "{order}"
    );

    // The transformer set in the file shows as set here.
    let (origin, text) = transformer(&b, "customer", "email");
    assert_eq!(origin, "set");
    // As written in the file, not with every default spelled out.
    assert!(text.starts_with("email(keep_domain = true)"), "{text}");

    // A transformer on a primary key: every referencing column inherits it at once,
    // through declared, composite-free, cyclic and virtual FKs.
    open_editor(&b, "customer", "id");
    choose(&b, "hash", "min = 1, max = 99999999");
    b.wait("customer.id to be set", || {
        (transformer(&b, "customer", "id").0 == "set").then_some(())
    });
    for (table, column, fk) in [
        ("address", "customer_id", "address_customer_id_fkey"),
        ("orders", "customer_id", "orders_customer_fk"),
        ("audit", "customer_ref", "audit_customer_vfk"),
    ] {
        let (origin, text) = transformer(&b, table, column);
        assert_eq!(origin, "inherited", "{table}.{column}");
        assert!(
            text.starts_with("hash(min = 1, max = 99999999)"),
            "{table}.{column}: {text}"
        );
        assert!(
            text.contains(&format!("from customer.id via FK {fk}")),
            "{table}.{column}: {text}"
        );
    }
    assert_eq!(transformer(&b, "orders", "handled_by").0, "none");
    assert_eq!(transformer(&b, "customer", "name").0, "none");
    assert_eq!(
        b.text(&b.find("#summary")),
        "7 tables · 9 foreign keys (1 virtual) · 2 cycles · 2 transformers set · 3 inherited through foreign keys · 18 columns copied unchanged · 4 personal columns copied unchanged"
    );
    let status = b.text(&b.find("#status"));
    assert!(
        status.contains("Transformer set on customer.id (4 columns changed)"),
        "{status}"
    );
    b.screenshot(&screenshots().join("pg-inherited.png"));

    // The editor of an FK column does not offer kinds the planner refuses; a request for
    // one anyway (the page's API) is refused with the planner's message, and the page and
    // the file stay as they were.
    let refused = b.script(
        "return fetch('/api/transformer', { method: 'POST', headers: { 'Content-Type': 'application/json' },
             body: JSON.stringify({ table: 'orders', column: 'customer_id', kind: 'scramble', options: '' }) })
           .then((r) => r.json().then((j) => [r.status, j.error]));",
        vec![],
    );
    assert_eq!(refused[0], json!(422));
    let refused = refused[1].as_str().unwrap().to_string();
    b.goto(&ui.url);
    assert_eq!(transformer(&b, "orders", "customer_id").0, "inherited");
    // `tether plan` says the same about a file with that mapping.
    let conflicting = dir.join("conflict.toml");
    std::fs::write(
        &conflicting,
        format!(
            "{original}id = {{ kind = \"hash\", min = 1, max = 99999999 }}\n\n[transform.orders]\ncustomer_id = \"scramble\"\n"
        ),
    )
    .unwrap();
    let (code, _, stderr) = plan(&conflicting);
    assert_eq!(code, 2, "{stderr}");
    // The same words, without the file's path (the page names the job at its top).
    let expected = stderr
        .trim()
        .trim_start_matches("error: ")
        .trim_start_matches(&format!("{}: ", conflicting.display()));
    assert_eq!(refused, expected);
    assert!(refused.contains("foreign key `orders_customer_fk`"), "{refused}");
    assert_eq!(
        std::fs::read_to_string(&job).unwrap(),
        original,
        "nothing written before Save"
    );

    // Bad options are refused with the option named.
    open_editor(&b, "customer", "name");
    choose(&b, "full_name", "max_length = \"long\"");
    let error = b.find("#editor-error");
    b.wait("the refusal", || b.displayed(&error).then_some(()));
    let text = b.text(&error);
    assert!(
        text.contains("[transform.customer] name") && text.contains("max_length"),
        "{text}"
    );
    b.click(&b.find("#editor-cancel"));

    // Save: comments kept, the old file backed up, and `tether plan` accepts the result
    // with the inherited transformers.
    let save = b.find("#save");
    assert_eq!(
        b.attribute(&save, "disabled"),
        None,
        "Save is enabled with unsaved changes"
    );
    b.click(&save);
    b.wait("the save", || {
        b.text(&b.find("#status")).starts_with("Saved ").then_some(())
    });
    let saved = std::fs::read_to_string(&job).unwrap();
    assert!(
        saved.starts_with("# A test job: these comments must survive a save.\n"),
        "{saved}"
    );
    assert!(saved.contains("# support tests need real domains"), "{saved}");
    assert!(saved.contains("# People's data.\n[transform.customer]\n"), "{saved}");
    assert!(
        saved.contains("id = { kind = \"hash\", min = 1, max = 99999999 }"),
        "{saved}"
    );
    assert_eq!(std::fs::read_to_string(dir.join("job.toml.bak")).unwrap(), original);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&job), 0o600, "a private job file stays private");
        assert_eq!(mode(&dir.join("job.toml.bak")), 0o600);
    }
    let (code, stdout, stderr) = plan(&job);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("transform: customer_id = hash(max=99999999, min=1) (inherited through FK `orders_customer_fk` from customer.id; same function)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("transform: customer_ref = hash(max=99999999, min=1) (inherited through FK `audit_customer_vfk` from customer.id; same function)"),
        "{stdout}"
    );

    // The plan view shows the same plan, and no password.
    b.click(&b.find("#show-plan"));
    let plan = b.find("#plan");
    b.wait("the plan", || {
        b.text(&plan).contains("tables in load order").then_some(())
    });
    // (Without the destinations' `load:` lines: the page plans without asking them.)
    let without_load: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("  load: ")).collect();
    assert_eq!(b.text(&plan).trim(), without_load.join("\n").trim());
    assert_eq!(secret_shown(&b), json!(false));
    b.click(&b.find("#show-mapping"));

    // By keyboard alone: Enter on an Edit button opens the editor on the kind list,
    // typing picks a kind, Tab reaches the options, Enter applies, and the focus comes
    // back to the same row's Edit button.
    let edit = b.find("section[data-table=\"employee\"] tr[data-column=\"name\"] button.edit");
    b.script("arguments[0].focus();", vec![Browser::arg(&edit)]);
    b.keys(Browser::ENTER);
    b.wait("the editor, focused on the kind", || {
        (b.focused() == "select#editor-kind").then_some(())
    });
    b.keys("full_name");
    b.keys(Browser::TAB);
    assert_eq!(b.focused(), "input#editor-options");
    b.keys(Browser::ENTER);
    b.wait("employee.name to be set", || {
        (transformer(&b, "employee", "name").0 == "set").then_some(())
    });
    assert_eq!(b.focused(), "button.edit in employee.name");
    // Escape closes the editor without a change; Escape hides a focused badge's tooltip.
    b.keys(Browser::ENTER);
    b.wait("the editor", || (b.focused() == "select#editor-kind").then_some(()));
    b.keys(Browser::ESCAPE);
    b.wait("the editor to close", || {
        (!b.displayed(&b.find("#editor"))).then_some(())
    });
    let badge = b.find("section[data-table=\"orders\"] tr[data-column=\"handled_by\"] button.badge.fk");
    b.script("arguments[0].focus();", vec![Browser::arg(&badge)]);
    let tip = tip_of(&badge);
    b.wait("the tooltip on focus", || b.displayed(&tip).then_some(()));
    b.keys(Browser::ESCAPE);
    b.wait("the tooltip to hide", || (!b.displayed(&tip)).then_some(()));
    // Save by keyboard: the focus lands on the outcome; the backup stays the original.
    let save = b.find("#save");
    b.script("arguments[0].focus();", vec![Browser::arg(&save)]);
    b.keys(Browser::ENTER);
    b.wait("the second save", || {
        b.text(&b.find("#status")).starts_with("Saved ").then_some(())
    });
    assert_eq!(b.focused(), "span#status");
    assert!(std::fs::read_to_string(&job).unwrap().contains("name = \"full_name\""));
    assert_eq!(std::fs::read_to_string(dir.join("job.toml.bak")).unwrap(), original);

    // The filter narrows the tables.
    b.type_into(&b.find("#filter"), "ord");
    let shown: Vec<String> = b
        .find_all("section.card")
        .iter()
        .filter(|c| b.displayed(c))
        .filter_map(|c| b.attribute(c, "data-table"))
        .collect();
    assert_eq!(shown, vec!["orders", "order_item"]);
    drop(ui);
}

#[test]
fn the_server_refuses_foreign_hosts_and_form_posts() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec("CREATE TABLE p (id integer PRIMARY KEY); CREATE TABLE c (id integer PRIMARY KEY, p_id integer REFERENCES p(id));");
    let (_dir, job) = sqlite_job(&db, "guard");
    let ui = Ui::start(&job);
    let port = ui.url.trim_end_matches('/').rsplit(':').next().unwrap().to_string();
    let addr = format!("127.0.0.1:{port}");
    let ask = |head: &str, body: &str| raw_http(&addr, head, body);
    let ok = ask(&format!("GET /api/mapping HTTP/1.1\r\nHost: 127.0.0.1:{port}"), "");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    let v: Value = serde_json::from_str(ok.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(v["tables"][1]["columns"][1]["foreign_keys"][0]["parent_table"], "p");
    let rebound = ask("GET /api/mapping HTTP/1.1\r\nHost: attacker.example:80", "");
    assert!(rebound.starts_with("HTTP/1.1 403"), "{rebound}");
    let same_port = ask(
        &format!("GET /api/mapping HTTP/1.1\r\nHost: attacker.example:{port}"),
        "",
    );
    assert!(same_port.starts_with("HTTP/1.1 403"), "{same_port}");
    let upper = ask(&format!("GET / HTTP/1.1\r\nHost: LOCALHOST:{port}"), "");
    assert!(upper.starts_with("HTTP/1.1 200"), "{upper}");
    let bad_length = ask(
        &format!("GET / HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Length: +2"),
        "",
    );
    assert!(bad_length.starts_with("HTTP/1.1 400"), "{bad_length}");
    let body = r#"{"table":"p","column":"id","kind":"hash"}"#;
    let form = ask(
        &format!("POST /api/transformer HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain"),
        body,
    );
    assert!(form.starts_with("HTTP/1.1 415"), "{form}");
    let cross = ask(
        &format!(
            "POST /api/transformer HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nOrigin: http://attacker.example"
        ),
        body,
    );
    assert!(cross.starts_with("HTTP/1.1 403"), "{cross}");
    let garbage = ask("\u{1}\u{2} nonsense", "");
    assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
    // A job without a seed gets one (from the environment) with its first transformer.
    let set = ask(
        &format!("POST /api/transformer HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json"),
        body,
    );
    assert!(set.starts_with("HTTP/1.1 200"), "{set}");
    let saved = ask(
        &format!("POST /api/save HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json"),
        "{}",
    );
    assert!(saved.starts_with("HTTP/1.1 200"), "{saved}");
    let text = std::fs::read_to_string(&job).unwrap();
    assert!(text.contains("seed = \"${TETHER_SEED}\""), "{text}");
    assert!(text.contains("[transform.p]\nid = \"hash\"\n"), "{text}");
    // Someone else edits the file: the next save is refused, nothing overwritten.
    std::fs::write(&job, format!("{text}# edited elsewhere\n")).unwrap();
    let clash = ask(
        &format!("POST /api/save HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json"),
        "{}",
    );
    assert!(
        clash.starts_with("HTTP/1.1 409") && clash.contains("changed on disk"),
        "{clash}"
    );
    assert!(std::fs::read_to_string(&job).unwrap().ends_with("# edited elsewhere\n"));
}

#[test]
fn a_job_file_that_does_not_parse_is_a_usage_error_naming_the_line() {
    let dir = scratch("bad");
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        "source = \"sqlite:///nowhere.sqlite\"\n[[destinations]]\nurl = 3\n",
    )
    .unwrap();
    let (code, _, stderr) = tether(&["ui", job.to_str().unwrap(), "--port", "0"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
}

/// Chinook, a schema nobody on the team wrote: its 11 FK columns badged, and a
/// screenshot to look at.
#[test]
fn chinook_in_the_page() {
    let Some(chinook) = tether_testkit::chinook_dir() else {
        eprintln!("skipped: ../shared/datasets/chinook is not there");
        return;
    };
    let dir = scratch("chinook");
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!(
            "source = \"sqlite://{}\"\nseed = \"${{TETHER_SEED}}\"\n\n[[destinations]]\nurl = \"sqlite://{}/out.sqlite\"\n\n[transform.Customer]\nEmail = {{ kind = \"email\", keep_domain = true }}\nFirstName = \"first_name\"\nLastName = \"last_name\"\n\n[transform.Employee]\nEmployeeId = {{ kind = \"hash\", min = 1, max = 9999 }}\n",
            chinook.join("chinook.sqlite").display(),
            dir.display()
        ),
    )
    .unwrap();
    let ui = Ui::start(&job);
    let b = Browser::start();
    b.goto(&ui.url);
    b.find("section.card");
    let found = badges(&b);
    assert_eq!(found.len(), 11, "{found:?}");
    assert_eq!(found["Employee.ReportsTo"], "Employee.EmployeeId");
    assert_eq!(found["InvoiceLine.TrackId"], "Track.TrackId");
    assert_eq!(transformer(&b, "Customer", "SupportRepId").0, "inherited");
    assert_eq!(transformer(&b, "Employee", "ReportsTo").0, "inherited");
    b.screenshot(&screenshots().join("chinook.png"));
    let badge = b.find("section[data-table=\"Customer\"] tr[data-column=\"SupportRepId\"] button.badge.fk");
    b.script(
        "arguments[0].scrollIntoView({block: 'center'});",
        vec![Browser::arg(&badge)],
    );
    b.hover(&badge);
    b.screenshot(&screenshots().join("chinook-hover.png"));
    b.unhover();

    // The grid's unprotected personal columns are the ones `tether plan` lists.
    b.click(&b.find("#show-grid"));
    b.wait("the grid", || b.displayed(&b.find("#grid")).then_some(()));
    b.script("window.scrollTo(0, 600);", vec![]);
    b.screenshot(&screenshots().join("chinook-grid.png"));
    toggle(&b, "exposed");
    let plan = b.script(
        "return fetch('/api/plan').then((r) => r.json()).then((j) => j.text);",
        vec![],
    );
    let listed: Vec<String> = plan
        .as_str()
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("UNPROTECTED "))
        .map(|l| l.split(' ').next().unwrap().to_string())
        .collect();
    assert!(!listed.is_empty(), "{plan}");
    let mut listed = listed;
    listed.sort();
    assert_eq!(grid_names(&b), listed);
    assert_eq!(b.text(&b.find("#filter-exposed .n")), listed.len().to_string());
    b.screenshot(&screenshots().join("chinook-unprotected.png"));
}

/// One raw HTTP request to `addr` (`host:port`); the whole answer.
fn raw_http(addr: &str, head: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "{head}\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn other_listen_addresses_answer_by_ip_and_allowed_names_only() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec("CREATE TABLE p (id integer PRIMARY KEY);");
    let (_dir, job) = sqlite_job(&db, "listen");
    // Another loopback address: the page opens by that address.
    let ui = Ui::start_with(&job, &["--listen", "127.0.0.2:0"]);
    let addr = ui.url.trim_start_matches("http://").trim_end_matches('/').to_string();
    assert!(addr.starts_with("127.0.0.2:"), "{addr}");
    let page = raw_http(&addr, &format!("GET / HTTP/1.1\r\nHost: {addr}"), "");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    drop(ui);
    // Every interface: IP addresses, localhost and --allow-host names; nothing else.
    let ui = Ui::start_with(&job, &["--listen", "0.0.0.0:0", "--allow-host", "devbox"]);
    let port = ui.url.trim_end_matches('/').rsplit(':').next().unwrap().to_string();
    let addr = format!("127.0.0.1:{port}");
    for (host, status) in [
        (format!("127.0.0.1:{port}"), "200"),
        (format!("devbox:{port}"), "200"),
        (format!("DevBox:{port}"), "200"),
        (format!("attacker.example:{port}"), "403"),
    ] {
        let answer = raw_http(&addr, &format!("GET /api/mapping HTTP/1.1\r\nHost: {host}"), "");
        assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{host}: {answer}");
    }
    let rebound = raw_http(
        &addr,
        &format!(
            "POST /api/save HTTP/1.1\r\nHost: attacker.example:{port}\r\nOrigin: http://attacker.example:{port}\r\nContent-Type: application/json"
        ),
        "{}",
    );
    assert!(rebound.starts_with("HTTP/1.1 403"), "{rebound}");
}

// ------------------------------------------------------------- page defects (issue 17)

const SHOP: &str = "
CREATE TABLE customer (id integer PRIMARY KEY, email text NOT NULL UNIQUE, name text);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer REFERENCES customer(id), placed text);
CREATE TABLE order_item (order_id integer REFERENCES orders(id), line integer, sku text, PRIMARY KEY (order_id, line));
CREATE TABLE product (id integer PRIMARY KEY, code text NOT NULL, region text NOT NULL, UNIQUE (code, region));
INSERT INTO customer VALUES (1, 'ada@example.org', 'Ada Lovelace'), (2, 'bob@example.org', 'Bob Marley');
INSERT INTO orders VALUES (1, 1, '2024-01-02'), (2, 2, '2024-02-03');
INSERT INTO order_item VALUES (1, 1, 'A-1'), (2, 1, 'B-2');
INSERT INTO product VALUES (1, 'A-1', 'eu'), (2, 'A-1', 'us');
";

/// An 11-line job copying SHOP on SQLite into a file beside it; the page on it.
fn shop(name: &str) -> (TestDb, ScratchDir, PathBuf, Ui, Browser) {
    let (db, dir, job) = shop_job(name, "", "");
    let (ui, b) = open_page(&job);
    (db, dir, job, ui, b)
}

/// SHOP (and `more_sql`) on SQLite and its job (11 lines; `settings` lines after the
/// seed).
fn shop_job(name: &str, more_sql: &str, settings: &str) -> (TestDb, ScratchDir, PathBuf) {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SHOP);
    if !more_sql.is_empty() {
        db.exec(more_sql);
    }
    let dir = scratch(name);
    let job = dir.join("job.toml");
    let text = format!(
        "# The shop, without its customers' addresses.\nsource = \"{}\"\nseed = \"${{TETHER_UI_TEST_SEED}}\"\n{settings}\n[[destinations]]\nurl = \"sqlite://{}/out.sqlite\"\n\n# People's data.\n[transform.customer]\nemail = \"email\"\nname = \"full_name\"\n",
        db.url,
        dir.display()
    );
    std::fs::write(&job, text).unwrap();
    (db, dir, job)
}

/// `tether ui JOB` and a browser on its page, its tables drawn.
fn open_page(job: &Path) -> (Ui, Browser) {
    let ui = Ui::start(job);
    let b = Browser::start();
    b.goto(&ui.url);
    b.find("section.card");
    (ui, b)
}

/// SCHEMA (and `more_sql`) on PostgreSQL, `job_text` (and `more_toml` after its
/// `[transform.customer]`) in a scratch directory, and the page on it.
fn pg_page(name: &str, more_sql: &str, more_toml: &str) -> (TestDb, ScratchDir, Ui, Browser) {
    let db = TestDb::create(Engine::Postgres);
    db.exec(SCHEMA);
    if !more_sql.is_empty() {
        db.exec(more_sql);
    }
    let dir = scratch(name);
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!("{}{more_toml}", job_text(&db.url, &dir.join("out.sqlite"))),
    )
    .unwrap();
    let (ui, b) = open_page(&job);
    (db, dir, ui, b)
}

/// The texts of the elements matching `css` that are on screen.
fn shown_texts(b: &Browser, css: &str) -> Vec<String> {
    b.find_all(css)
        .iter()
        .filter(|e| b.displayed(e))
        .map(|e| b.text(e))
        .collect()
}

/// Whether an element's text is cut off: wider or taller than its box, or past the
/// window's edge.
fn cut_off(b: &Browser, e: &Element) -> bool {
    b.script(
        "const e = arguments[0], r = e.getBoundingClientRect();
         return e.scrollWidth > e.clientWidth || e.scrollHeight > e.clientHeight
             || r.left < 0 || r.right > window.innerWidth;",
        vec![Browser::arg(e)],
    ) == json!(true)
}

#[test]
fn the_table_filter_hides_the_load_order_chips_of_other_tables_too() {
    let (_db, _dir, _job, _ui, b) = shop("defect_filter");
    assert_eq!(
        shown_texts(&b, "#order a"),
        vec!["customer", "product", "orders", "order_item"]
    );
    b.type_into(&b.find("#filter"), "ord");
    assert_eq!(shown_texts(&b, "#order a"), vec!["orders", "order_item"]);
    // A group with none of them left goes with its label.
    assert_eq!(
        shown_texts(&b, "#order li.group .group-label"),
        vec!["step 2", "step 3"]
    );
    b.screenshot(&screenshots().join("filter.png"));
}

#[test]
fn a_refused_edit_names_the_key_not_the_path_or_a_line_of_the_unsaved_file() {
    let (_db, _dir, job, _ui, b) = shop("defect_refusal");
    assert_eq!(std::fs::read_to_string(&job).unwrap().lines().count(), 11);
    // Bad options on a table the file has no [transform.product] for: the page's unsaved
    // version of the 11-line file holds it at line 14.
    open_editor(&b, "product", "code");
    choose(&b, "full_name", "max_length = \"long\"");
    let error = b.find("#editor-error");
    b.wait("the refusal", || b.displayed(&error).then_some(()));
    let refused = b.text(&error);
    assert!(!refused.contains(job.to_str().unwrap()), "{refused}");
    assert!(!refused.contains("line "), "{refused}");
    assert_eq!(
        refused,
        "[transform.product] code: transformer `full_name`: option `max_length`: expected an integer, found string"
    );
    b.screenshot(&screenshots().join("refused-options.png"));
}

#[test]
fn a_column_of_a_composite_key_is_badged_as_part_of_it() {
    let (_db, _dir, _job, _ui, b) = shop("defect_unique");
    let keys = |table: &str, column: &str| {
        shown_texts(
            &b,
            &format!("section[data-table=\"{table}\"] tr[data-column=\"{column}\"] td.keys .badge"),
        )
    };
    assert_eq!(keys("customer", "email"), ["Unique"]);
    assert_eq!(keys("customer", "id"), ["PK"]);
    assert_eq!(keys("product", "code"), ["part of unique (code, region)"]);
    assert_eq!(keys("product", "region"), ["part of unique (code, region)"]);
    assert_eq!(keys("order_item", "line"), ["part of PK (order_id, line)"]);
    assert_eq!(
        keys("order_item", "order_id"),
        ["part of PK (order_id, line)", "Foreign Key"]
    );
    b.screenshot(&screenshots().join("composite-keys.png"));
}

#[test]
fn the_status_line_is_never_cut_off() {
    let (_db, dir, _job, _ui, b) = shop("defect_status");
    open_editor(&b, "customer", "id");
    choose(&b, "hash", "min = 1, max = 99999999");
    let status = b.find("#status");
    b.wait("the edit's status", || {
        b.text(&status).starts_with("Transformer set on").then_some(())
    });
    assert!(!cut_off(&b, &status), "{}", b.text(&status));
    assert_eq!(
        b.text(&status),
        "Transformer set on customer.id (2 columns changed) · unsaved"
    );
    b.click(&b.find("#save"));
    b.wait("the save", || b.text(&status).starts_with("Saved ").then_some(()));
    b.screenshot(&screenshots().join("saved.png"));
    assert!(!cut_off(&b, &status), "{}", b.text(&status));
    assert_eq!(
        b.text(&status),
        "Saved job.toml · the previous version is in job.toml.bak"
    );
    assert!(dir.join("job.toml.bak").exists());
}

// ------------------------------------------------------- all columns at a glance (issue 17)

/// The rows of the All columns grid on screen: table.column -> [schema, table, column,
/// type, keys, personal data, transformer, from].
fn grid(b: &Browser) -> BTreeMap<String, Vec<String>> {
    let v = b.script(
        "return [...document.querySelectorAll('#grid-rows tr')].filter((r) => !r.hidden).map((r) =>
            [r.dataset.table + '.' + r.dataset.column,
             [...r.cells].slice(0, 8).map((c) => [...c.querySelectorAll('.badge')].length
                 ? [...c.querySelectorAll('.badge')].map((x) => x.innerText).join(', ') : c.innerText.trim())]);",
        vec![],
    );
    v.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            let cells = r[1].as_array().expect("cells");
            (
                r[0].as_str().unwrap().to_string(),
                cells.iter().map(|c| c.as_str().unwrap().to_string()).collect(),
            )
        })
        .collect()
}

fn grid_names(b: &Browser) -> Vec<String> {
    grid(b).into_keys().collect()
}

fn names(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn toggle(b: &Browser, filter: &str) {
    b.click(&b.find(&format!("#filter-{filter}")));
}

#[test]
fn the_grid_shows_every_column_filters_them_and_flags_unprotected_personal_data() {
    let (_db, _dir, ui, b) = pg_page(
        "grid",
        "CREATE SCHEMA hr;
         CREATE TABLE hr.payslip (id integer PRIMARY KEY, employee_id integer NOT NULL REFERENCES employee(id),
             iban text, amount numeric(10,2));
         INSERT INTO hr.payslip VALUES (1, 1, 'DE89370400440532013000', 1200.00), (2, 2, 'GB82WEST12345698765432', 900.50);",
        "\n[transform.employee]\nname = { kind = \"passthrough\", reason = \"the public staff directory\" }\n",
    );
    b.click(&b.find("#show-grid"));
    b.wait("the grid", || b.displayed(&b.find("#grid")).then_some(()));
    assert!(!b.displayed(&b.find("#mapping-view")));

    // Every column of every table, in load order, with its keys, class and transformer
    // as written in the file.
    let all = grid(&b);
    assert_eq!(all.len(), 27, "{all:#?}");
    assert_eq!(b.text(&b.find("#grid-count")), "27 of 27 columns");
    let row = |cells: &[&str]| cells.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        all["customer.email"],
        row(&[
            "public",
            "customer",
            "email",
            "text\nnot null",
            "Unique",
            "email",
            "email(keep_domain = true)",
            "set here"
        ])
    );
    assert_eq!(
        all["customer.name"],
        row(&[
            "public",
            "customer",
            "name",
            "text",
            "",
            "person name · unprotected",
            "",
            "copied unchanged"
        ])
    );
    assert_eq!(
        all["employee.name"],
        row(&[
            "public",
            "employee",
            "name",
            "text",
            "",
            "person name",
            "passthrough(reason = \"the public staff directory\")",
            "set here"
        ])
    );
    assert_eq!(
        all["hr.payslip.iban"],
        row(&[
            "hr",
            "payslip",
            "iban",
            "text",
            "",
            "bank account · unprotected",
            "",
            "copied unchanged"
        ])
    );
    assert_eq!(
        all["hr.payslip.employee_id"],
        row(&[
            "hr",
            "payslip",
            "employee_id",
            "integer\nnot null",
            "FK → employee.id",
            "",
            "",
            "copied unchanged"
        ])
    );
    assert_eq!(
        all["shipment.line"],
        row(&[
            "public",
            "shipment",
            "line",
            "integer",
            "part of FK (order_id, line) → order_item (order_id, line)",
            "",
            "",
            "copied unchanged"
        ])
    );
    assert_eq!(
        all["order_item.line"],
        row(&[
            "public",
            "order_item",
            "line",
            "integer\nnot null",
            "part of PK (order_id, line)",
            "",
            "",
            "copied unchanged"
        ])
    );

    // Personal columns copied unchanged stand out, in both views.
    let exposed = names(&["address.street", "audit.note", "customer.name", "hr.payslip.iban"]);
    let marked: Vec<String> = b
        .script(
            "return [...document.querySelectorAll('#grid-rows tr.exposed')].map((r) => r.dataset.table + '.' + r.dataset.column).sort();",
            vec![],
        )
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(marked, exposed);
    let background = |css: &str| {
        b.script(
            "return getComputedStyle(document.querySelector(arguments[0])).backgroundColor;",
            vec![json!(css)],
        )
    };
    assert_eq!(
        background("#grid-rows tr[data-table=\"customer\"][data-column=\"name\"] td"),
        json!("rgb(255, 245, 245)")
    );
    assert_eq!(
        background("#grid-rows tr[data-table=\"customer\"][data-column=\"email\"] td"),
        json!("rgba(0, 0, 0, 0)")
    );
    assert_eq!(
        background("#grid-rows tr[data-table=\"customer\"][data-column=\"name\"] .pd"),
        json!("rgb(253, 234, 234)")
    );
    assert_eq!(
        background("section[data-table=\"customer\"] tr[data-column=\"name\"] td"),
        json!("rgb(255, 245, 245)")
    );
    b.screenshot(&screenshots().join("grid.png"));
    // The scan's evidence (in tooltips) is masked: no sampled value reaches the page.
    let evidence = b.script(
        "return document.querySelector('#grid-rows tr[data-table=\"hr.payslip\"][data-column=\"iban\"] .pd').title;",
        vec![],
    );
    assert!(
        evidence.as_str().unwrap().starts_with("bank account, confidence "),
        "{evidence}"
    );
    let page = b.script(
        "return fetch('/api/mapping').then((r) => r.text()).then((t) => t + document.documentElement.outerHTML);",
        vec![],
    );
    for sampled in [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "ada@example.org",
        "1 Main St",
    ] {
        assert!(!page.as_str().unwrap().contains(sampled), "{sampled} on the page");
    }

    // Filters, alone and together; the table filter of the side bar applies too.
    toggle(&b, "exposed");
    assert_eq!(grid_names(&b), exposed);
    assert_eq!(b.text(&b.find("#grid-count")), "4 of 27 columns");
    assert_eq!(b.text(&b.find("#filter-exposed")), "Personal and unprotected 4");
    assert_eq!(b.text(&b.find("#filter-exposed .n")), "4");
    b.screenshot(&screenshots().join("grid-unprotected.png"));
    toggle(&b, "exposed");
    toggle(&b, "fk");
    let mut fk_columns: Vec<String> = expected_fk_columns().into_keys().collect();
    fk_columns.push("hr.payslip.employee_id".into());
    fk_columns.sort();
    assert_eq!(grid_names(&b), fk_columns);
    toggle(&b, "fk");
    toggle(&b, "transformed");
    assert_eq!(
        grid_names(&b),
        names(&["customer.email"]),
        "passthrough is not a transformation"
    );
    toggle(&b, "transformed");
    toggle(&b, "changed");
    assert_eq!(grid_names(&b), Vec::<String>::new());
    assert!(b.displayed(&b.find("#grid-empty")));
    toggle(&b, "changed");
    assert_eq!(grid(&b).len(), 27);

    // An edit from the grid: the key's FK children follow, and show as changed.
    let edit = b.find("#grid-rows tr[data-table=\"customer\"][data-column=\"id\"] button.edit");
    b.click(&edit);
    b.wait("the editor", || b.displayed(&b.find("#editor")).then_some(()));
    choose(&b, "hash", "min = 1, max = 99999999");
    b.wait("customer.id to be set", || {
        (grid(&b)["customer.id"][7] == "set here changed").then_some(())
    });
    assert_eq!(
        b.script(
            "const e = document.activeElement, r = e.closest('#grid-rows tr');
             return e.className + ' in ' + (r && r.dataset.table + '.' + r.dataset.column);",
            vec![]
        ),
        json!("edit in customer.id"),
        "the focus is back on the row's Edit button"
    );
    toggle(&b, "changed");
    let changed = names(&[
        "address.customer_id",
        "audit.customer_ref",
        "customer.id",
        "orders.customer_id",
    ]);
    assert_eq!(grid_names(&b), changed);
    assert_eq!(
        grid(&b)["orders.customer_id"],
        row(&[
            "public",
            "orders",
            "customer_id",
            "integer\nnot null",
            "FK → customer.id",
            "",
            "hash(min = 1, max = 99999999)",
            "inherited from customer.id via FK orders_customer_fk changed"
        ])
    );
    toggle(&b, "transformed");
    assert_eq!(grid_names(&b), changed, "the changed ones are all transformed");
    toggle(&b, "changed");
    let mut transformed = changed.clone();
    transformed.push("customer.email".into());
    transformed.sort();
    assert_eq!(grid_names(&b), transformed);
    toggle(&b, "fk");
    assert_eq!(
        grid_names(&b),
        names(&["address.customer_id", "audit.customer_ref", "orders.customer_id"])
    );
    toggle(&b, "fk");
    toggle(&b, "transformed");
    b.type_into(&b.find("#filter"), "ord");
    assert_eq!(
        grid_names(&b),
        names(&[
            "order_item.line",
            "order_item.order_id",
            "order_item.sku",
            "orders.billing_address_id",
            "orders.customer_id",
            "orders.handled_by",
            "orders.id",
        ])
    );
    b.script(
        "const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input'));",
        vec![],
    );

    // Saved: nothing differs from the file any more.
    b.click(&b.find("#save"));
    b.wait("the save", || {
        b.text(&b.find("#status")).starts_with("Saved ").then_some(())
    });
    toggle(&b, "changed");
    assert_eq!(grid_names(&b), Vec::<String>::new());
    toggle(&b, "changed");
    drop(ui);
}

#[test]
fn an_fk_columns_editor_names_the_parent_key_and_goes_there() {
    let (_db, _dir, ui, b) = pg_page("fk_editor", "", "id = { kind = \"hash\", min = 1, max = 99999999 }\n");

    // NOT NULL FK column: no kind at all to choose; the parent key and a way there.
    open_editor(&b, "orders", "customer_id");
    let inherits = b.find("#editor-inherits");
    assert!(b.displayed(&inherits));
    assert_eq!(
        b.text(&inherits),
        "customer_id references customer.id (FK orders_customer_fk) and takes its transformer, so the keys still match.\nNow: hash(min = 1, max = 99999999), inherited from customer.id.\nA transformer of its own would break that; change the parent key instead: Go to customer.id"
    );
    assert!(!b.displayed(&b.find("#editor-kind-field")));
    assert!(!b.displayed(&b.find("#editor-options-field")));
    assert!(!b.displayed(&b.find("#editor-apply")));
    assert_eq!(b.focused(), "button.go");
    b.screenshot(&screenshots().join("fk-editor.png"));
    b.click(&b.find("#editor-inherits button.go"));
    b.wait("the parent's editor", || {
        (b.text(&b.find("#editor-title")) == "Transformer of customer.id").then_some(())
    });
    assert!(b.displayed(&b.find("#editor")));
    assert!(!b.displayed(&b.find("#editor-inherits")));
    let value = |css: &str| b.script("return document.querySelector(arguments[0]).value;", vec![json!(css)]);
    assert_eq!(value("#editor-kind"), json!("hash"));
    assert_eq!(value("#editor-options"), json!("min = 1, max = 99999999"));
    assert!(b.displayed(&b.find("#editor-apply")));
    b.click(&b.find("#editor-cancel"));

    // A nullable FK column may be set to NULL, nothing else; two FKs' worth of the
    // composite one name both parent columns.
    let options = |b: &Browser| {
        b.script(
            "return [...document.querySelectorAll('#editor-kind option')].map((o) => o.value);",
            vec![],
        )
    };
    open_editor(&b, "orders", "billing_address_id");
    assert_eq!(options(&b), json!(["", "null"]));
    assert!(b.displayed(&b.find("#editor-kind-field")));
    assert!(
        b.text(&b.find("#editor-inherits")).starts_with(
            "billing_address_id references address.id (FK orders_address_fk) and takes its transformer, so the keys still match.\nNow: copied unchanged."
        ),
        "{}",
        b.text(&b.find("#editor-inherits"))
    );
    assert!(!b.displayed(&b.find("#editor-options-field")), "NULL takes no options");
    b.click(&b.find("#editor-kind option[value=\"null\"]"));
    b.click(&b.find("#editor-apply"));
    b.wait("orders.billing_address_id to be set", || {
        (transformer(&b, "orders", "billing_address_id").0 == "set").then_some(())
    });
    assert_eq!(
        transformer(&b, "orders", "billing_address_id").1,
        "null set here changed"
    );
    // Opened again: what is set, and the way back to the inherited transformer.
    open_editor(&b, "orders", "billing_address_id");
    assert_eq!(
        shown_texts(&b, "#editor-inherits p")[1],
        "Now: null, set on this column."
    );
    assert_eq!(value("#editor-kind"), json!("null"));
    assert_eq!(b.attribute(&b.find("#editor-remove"), "disabled"), None);
    b.click(&b.find("#editor-cancel"));
    open_editor(&b, "shipment", "line");
    assert_eq!(
        b.text(&b.find("#editor-inherits")),
        "line references order_item.line (FK shipment_item_fk) and takes its transformer, so the keys still match.\nNow: copied unchanged.\nAny other transformer of its own would break that (only null may differ: it drops the reference); change the parent key instead: Go to order_item.line"
    );
    b.click(&b.find("#editor-cancel"));
    // A column nobody references keeps the whole list, starting on the scan's suggestion
    // for personal data.
    open_editor(&b, "customer", "name");
    assert!(!b.displayed(&b.find("#editor-inherits")));
    assert_eq!(value("#editor-kind"), json!("full_name"));
    assert!(options(&b).as_array().unwrap().len() > 20);
    b.click(&b.find("#editor-cancel"));
    drop(ui);
}

#[test]
fn a_strict_job_shows_that_tether_plan_refuses_it_until_its_personal_columns_are_covered() {
    let (_db, _dir, job) = shop_job(
        "strict",
        "ALTER TABLE customer ADD COLUMN phone text; UPDATE customer SET phone = '+44 20 7946 0958';",
        "privacy = \"strict\"\n",
    );
    let (code, _, stderr) = plan(&job);
    assert_eq!(code, 2, "{stderr}");
    let refusal = "privacy = \"strict\": 1 personal column would be copied unchanged: customer.phone (phone); transform them or mark them reviewed with { kind = \"passthrough\", reason = \"...\" }";
    assert_eq!(stderr.trim(), format!("error: {}: {refusal}", job.display()));
    let (_ui, b) = open_page(&job);
    let banner = b.find("#privacy-refusal");
    assert!(b.displayed(&banner));
    assert_eq!(
        b.text(&banner),
        format!("tether plan and tether sync refuse this job: {refusal}")
    );
    assert!(!b.displayed(&b.find("#error")), "the mapping itself plans");
    b.screenshot(&screenshots().join("strict.png"));
    b.click(&b.find("#show-plan"));
    b.wait("the plan view", || {
        b.text(&b.find("#plan")).starts_with("No plan: ").then_some(())
    });
    assert_eq!(b.text(&b.find("#plan")), format!("No plan: {refusal}"));
    b.click(&b.find("#show-mapping"));
    // Transformed: the refusal goes, and the plan is there.
    open_editor(&b, "customer", "phone");
    choose(&b, "phone", "");
    b.wait("customer.phone to be set", || {
        (transformer(&b, "customer", "phone").0 == "set").then_some(())
    });
    assert!(!b.displayed(&banner));
    b.click(&b.find("#show-plan"));
    b.wait("the plan", || {
        b.text(&b.find("#plan")).contains("tables in load order").then_some(())
    });
}
