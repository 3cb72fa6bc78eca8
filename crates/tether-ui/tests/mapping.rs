//! The mapping `tether ui` edits, without the browser: what a change does to the plan
//! and to the job file's text.

use std::path::{Path, PathBuf};

use tether_testkit::{ScratchDir, TestDb, TestEngine as Engine};
use tether_ui::Mapping;

const SCHEMA: &str = "
CREATE TABLE customer (id integer PRIMARY KEY, email text, name text);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer REFERENCES customer(id), total integer);
CREATE TABLE note (id integer PRIMARY KEY, order_id integer NOT NULL REFERENCES orders(id), body text);
";

fn job(dir: &Path, db: &TestDb, transform: &str) -> PathBuf {
    let path = dir.join("job.toml");
    std::fs::write(
        &path,
        format!(
            "# top comment\nsource = \"{}\"\nseed = \"${{SOME_UNSET_SEED_VAR}}\"\n\n[[destinations]]\nurl = \"sqlite://{}/out.sqlite\"  # where\n{transform}",
            db.url,
            dir.display()
        ),
    )
    .unwrap();
    path
}

fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("ui_mapping_{name}"))
}

fn open(path: &Path) -> Mapping {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(Mapping::open(path))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// (origin, spec, inherited from) of a column's transformer.
fn transformer(m: &Mapping, table: &str, column: &str) -> Option<(String, String, Option<String>)> {
    let v = serde_json::to_value(m.view()).unwrap();
    let t = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == table)
        .unwrap();
    let c = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == column)
        .unwrap();
    let x = &c["transformer"];
    if x.is_null() {
        return None;
    }
    Some((
        x["origin"].as_str().unwrap().to_string(),
        x["spec"].as_str().unwrap().to_string(),
        x["inherited"].as_object().map(|i| {
            format!(
                "{}.{} via {}",
                i["table"].as_str().unwrap(),
                i["column"].as_str().unwrap(),
                i["foreign_key"].as_str().unwrap()
            )
        }),
    ))
}

#[test]
fn a_key_transformer_reaches_every_child_and_removing_it_restores_the_file() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SCHEMA);
    let dir = scratch("inherit");
    let path = job(&dir, &db, "\n[transform.customer]\nemail = \"email\" # mail\n");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut m = open(&path);
    assert_eq!(transformer(&m, "orders", "customer_id"), None);
    m.set_transformer("orders", "id", Some(("hash", "min = 1, max = 999999")))
        .unwrap();
    assert_eq!(
        transformer(&m, "note", "order_id"),
        Some((
            "inherited".into(),
            "hash(max=999999, min=1)".into(),
            Some("orders.id via note_order_id_fkey".into())
        ))
    );
    assert_eq!(transformer(&m, "orders", "id").unwrap().0, "set");
    assert!(m.view().dirty);
    // Setting the same column again replaces the value in place, comment kept.
    m.set_transformer("customer", "email", Some(("email", "keep_domain = true")))
        .unwrap();
    m.set_transformer("orders", "id", None).unwrap();
    m.set_transformer("customer", "email", Some(("email", ""))).unwrap();
    assert_eq!(transformer(&m, "note", "order_id"), None);
    assert!(!m.view().dirty, "back to the file as it was");
    m.save().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
}

#[test]
fn a_conflict_is_refused_with_the_planners_message_and_changes_nothing() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SCHEMA);
    let dir = scratch("conflict");
    let path = job(&dir, &db, "\n[transform.customer]\nid = \"hash\"\n");
    let mut m = open(&path);
    let before = serde_json::to_string(&m.view()).unwrap();
    let e = m
        .set_transformer("orders", "customer_id", Some(("scramble", "")))
        .unwrap_err();
    // The planner's words, without the job's path (the page names the job at its top).
    assert!(
        e.starts_with(
            "foreign key `orders_customer_id_fkey`: orders.customer_id has transformer scramble, but it references customer.id"
        ),
        "{e}"
    );
    assert_eq!(serde_json::to_string(&m.view()).unwrap(), before);
    // NULL is always allowed on a nullable FK column.
    m.set_transformer("orders", "customer_id", Some(("null", ""))).unwrap();
    assert_eq!(transformer(&m, "orders", "customer_id").unwrap().0, "set");
    // Unknown tables, columns, kinds and options are named.
    assert_eq!(
        m.set_transformer("nope", "id", Some(("hash", ""))).unwrap_err(),
        "table `nope` does not exist in the source"
    );
    assert_eq!(
        m.set_transformer("orders", "nope", Some(("hash", ""))).unwrap_err(),
        "column `nope` does not exist in table `orders`"
    );
    let e = m
        .set_transformer("customer", "email", Some(("email", "colour = 1")))
        .unwrap_err();
    // The key, not a line of the unsaved version of the file.
    assert!(
        e.starts_with("[transform.customer] email: ") && e.contains("colour"),
        "{e}"
    );
    let e = m.set_transformer("customer", "email", Some(("emial", ""))).unwrap_err();
    assert!(e.contains("emial"), "{e}");
}

#[test]
fn a_job_that_already_fails_opens_with_its_error_and_can_be_fixed() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SCHEMA);
    let dir = scratch("broken");
    let path = job(
        &dir,
        &db,
        "\n[transform.customer]\nid = \"hash\"\n\n[transform.orders]\ncustomer_id = \"scramble\"\n",
    );
    let mut m = open(&path);
    let v = m.view();
    assert!(
        v.error.as_deref().unwrap().contains("orders_customer_id_fkey"),
        "{:?}",
        v.error
    );
    assert_eq!(v.tables.len(), 3, "the structure is shown anyway");
    assert_eq!(v.tables[0].name, "customer");
    assert!(m.plan_text().is_err());
    m.set_transformer("orders", "customer_id", None).unwrap();
    assert_eq!(m.view().error, None);
    assert!(m.plan_text().unwrap().contains("transform: customer_id = hash"));
}

#[test]
fn inline_transform_tables_keep_their_form_and_comments() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SCHEMA);
    let dir = scratch("inline");
    let path = job(&dir, &db, "\n[transform]\n# people\ncustomer = { email = \"email\" }\n");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut m = open(&path);
    m.set_transformer("customer", "name", Some(("full_name", ""))).unwrap();
    let saved = m.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        text,
        original.replace("{ email = \"email\" }", "{ email = \"email\", name = \"full_name\" }")
    );
    assert_eq!(saved.backup, format!("{}.bak", path.display()));
    assert_eq!(std::fs::read_to_string(dir.join("job.toml.bak")).unwrap(), original);
}

#[test]
fn removing_and_setting_again_keeps_comments_and_places() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SCHEMA);
    let dir = scratch("comments");
    let path = job(
        &dir,
        &db,
        "\n# People\n[transform.customer]\n# their mail\nemail = \"email\"  # keep\n\n[transform.orders]\ntotal = \"noise\"\n",
    );
    let original = std::fs::read_to_string(&path).unwrap();
    let mut m = open(&path);
    m.set_transformer("customer", "email", None).unwrap();
    m.save().unwrap();
    let emptied = std::fs::read_to_string(&path).unwrap();
    assert!(
        emptied.contains("# People\n[transform.customer]\n\n[transform.orders]\n"),
        "the emptied table stays in its place with its comment: {emptied}"
    );
    m.set_transformer("customer", "email", Some(("email", ""))).unwrap();
    m.save().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
    // Two saves, one backup: the file as it was when the page opened it.
    assert_eq!(std::fs::read_to_string(dir.join("job.toml.bak")).unwrap(), original);
}

#[test]
fn a_transformer_written_as_its_own_table_stays_one() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SCHEMA);
    let dir = scratch("subtable");
    let path = job(&dir, &db, "\n[transform.customer.email]\nkind = \"email\"\n");
    let mut m = open(&path);
    m.set_transformer("customer", "email", Some(("email", "keep_domain = true")))
        .unwrap();
    m.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.ends_with("[transform.customer.email]\nkind = \"email\"\nkeep_domain = true\n"),
        "{text}"
    );
}

/// Per column: (transformer as written, changed since saved), for columns with either.
fn written_and_changed(m: &Mapping) -> Vec<(String, Option<String>, bool)> {
    let v = serde_json::to_value(m.view()).unwrap();
    let mut out = Vec::new();
    for t in v["tables"].as_array().unwrap() {
        for c in t["columns"].as_array().unwrap() {
            let written = c["transformer"]["written"].as_str().map(str::to_string);
            let changed = c["changed"].as_bool().unwrap();
            if written.is_some() || changed {
                out.push((
                    format!("{}.{}", t["name"].as_str().unwrap(), c["name"].as_str().unwrap()),
                    written,
                    changed,
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn transformers_show_as_written_and_changes_are_against_the_saved_file() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SCHEMA);
    let dir = scratch("written");
    let path = job(&dir, &db, "\n[transform.orders]\nid = \"hash\"\n");
    let mut m = open(&path);
    let row = |c: &str, w: &str, changed| (c.to_string(), Some(w.to_string()), changed);
    // `hash`, not its defaults; the child shows its parent's spelling.
    assert_eq!(
        written_and_changed(&m),
        vec![row("note.order_id", "hash", false), row("orders.id", "hash", false)]
    );
    m.set_transformer("orders", "id", Some(("hash", "min = 1, max = 999999")))
        .unwrap();
    assert_eq!(
        written_and_changed(&m),
        vec![
            row("note.order_id", "hash(min = 1, max = 999999)", true),
            row("orders.id", "hash(min = 1, max = 999999)", true)
        ]
    );
    // Back to what the file says: nothing changed, though it was edited twice.
    m.set_transformer("orders", "id", Some(("hash", ""))).unwrap();
    assert_eq!(
        written_and_changed(&m),
        vec![row("note.order_id", "hash", false), row("orders.id", "hash", false)]
    );
    // A removal is a change too, on the column and its child.
    m.set_transformer("orders", "id", None).unwrap();
    assert_eq!(
        written_and_changed(&m),
        vec![
            ("note.order_id".to_string(), None, true),
            ("orders.id".to_string(), None, true)
        ]
    );
    // Saved: the new file is the reference.
    m.save().unwrap();
    assert_eq!(written_and_changed(&m), vec![]);
}

#[test]
fn an_fk_column_repeating_its_parents_transformer_shows_its_own_spelling() {
    let db = TestDb::create(Engine::Sqlite);
    db.exec(SCHEMA);
    let dir = scratch("repeat");
    let path = job(
        &dir,
        &db,
        "\n[transform.orders]\nid = { kind = \"hash\", min = 1, max = 999 }\n\n[transform.note]\norder_id = { kind = \"hash\", max = 999, min = 1 }\n",
    );
    let m = open(&path);
    assert_eq!(
        written_and_changed(&m),
        vec![
            (
                "note.order_id".to_string(),
                Some("hash(max = 999, min = 1)".to_string()),
                false
            ),
            (
                "orders.id".to_string(),
                Some("hash(min = 1, max = 999)".to_string()),
                false
            )
        ]
    );
}
