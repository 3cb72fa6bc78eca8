//! Review r22o F2: table `b` of schema `a` beside a table `public."a.b"`: the ui wrote
//! its transformers under `[transform."a.b"]` (its display name `a.b`), which the
//! planner refuses as ambiguous, so every edit of that table was refused. The quoted
//! spelling `"a"."b"` names one table.

use tether_testkit::{ScratchDir, TestDb, TestEngine as Engine};
use tether_ui::Mapping;

#[test]
fn a_table_whose_display_name_another_table_bears_is_keyed_by_its_quoted_name() {
    let db = TestDb::create(Engine::Postgres);
    db.exec(
        "CREATE SCHEMA a;
         CREATE TABLE a.b (id int PRIMARY KEY, email text);
         CREATE TABLE public.\"a.b\" (id int PRIMARY KEY, email text);",
    );
    let dir = ScratchDir::new("ui_mapping_r22");
    let path = dir.join("job.toml");
    std::fs::write(
        &path,
        format!(
            "source = \"{}\"\nseed = \"s\"\n[[destinations]]\nurl = \"sqlite://{}/out.sqlite\"\n",
            db.url,
            dir.display()
        ),
    )
    .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut m = runtime.block_on(Mapping::open(&path)).unwrap_or_else(|e| panic!("{e}"));
    m.set_transformer("\"a\".\"b\"", "email", Some(("email", "")))
        .unwrap_or_else(|e| panic!("the edit plans: {e}"));
    m.set_transformer("\"a.b\"", "email", Some(("constant", "value = 'x'")))
        .unwrap_or_else(|e| panic!("the other table's edit plans: {e}"));
    m.save().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("[transform.'\"a\".\"b\"']\nemail = \"email\""), "{text}");
    assert!(text.contains("[transform.'\"a.b\"']"), "{text}");
    // The saved job plans as the ui planned it.
    let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    runtime
        .block_on(tether_sync::prepare(&job))
        .unwrap_or_else(|e| panic!("plans: {e}"));
}
