//! Seventeenth session, review N (F1, F3): `tether plan` exited 0 and printed "creates:
//! c" (JSON `schema.create`) for tables the sync then refused to create (`create_tables
//! = false`, `mode = "data"`, exit 2). The plan now exits 2 with the sync's message, in
//! text and JSON alike, and prints no plan.

use std::path::Path;
use std::process::Command;

use tether_testkit::ScratchDir;

/// `tether ARGS` run in `cwd`: (exit code, stdout, stderr).
fn tether_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run tether");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn plan_exits_as_the_sync_does_when_missing_tables_are_not_created() {
    for (top, dest, why) in [
        ("", "create_tables = false\n", "create_tables = false"),
        ("mode = \"data\"\n", "", "mode = \"data\" creates nothing"),
    ] {
        let dir = ScratchDir::new("plan_r17");
        let src = rusqlite::Connection::open(dir.join("src.sqlite")).expect("source");
        src.execute_batch(
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INT REFERENCES p (id));
             INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1);",
        )
        .expect("source tables");
        rusqlite::Connection::open(dir.join("dst.sqlite"))
            .expect("destination")
            .execute_batch("CREATE TABLE p (id INTEGER PRIMARY KEY);")
            .expect("destination table");
        std::fs::write(
            dir.join("job.toml"),
            format!(
                "source = \"sqlite://src.sqlite\"\nprivacy = \"off\"\n{top}[[destinations]]\nurl = \"sqlite://dst.sqlite\"\n{dest}"
            ),
        )
        .expect("job");
        let expected = format!("error: sqlite://dst.sqlite: tables missing and {why}: c\n");
        for args in [
            &["plan", "job.toml"][..],
            &["plan", "job.toml", "--format", "json"],
            &["sync", "job.toml"],
        ] {
            let (code, out, err) = tether_in(&dir, args);
            assert_eq!(code, 2, "{args:?}: {out}\n{err}");
            assert!(err.ends_with(&expected), "{args:?}: {err}");
            if args[0] == "plan" && args.len() == 2 {
                assert_eq!(out, "", "{args:?}: no plan printed");
            } else if args[0] == "plan" {
                // No plan: the failure as a JSON document (with the stderr line).
                let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
                assert_eq!(doc["error"]["exit_code"], 2, "{out}");
                assert_eq!(format!("error: {}\n", doc["error"]["message"].as_str().unwrap()), err);
            }
        }
    }
}
