//! Fourteenth review, C2: `tether plan` asked a SQLite destination how it would load on
//! a database opened at `:memory:`, which was made absolute against the current
//! directory: every plan (and sync, which plans first) left a WAL-mode SQLite file named
//! `:memory:` there, and in a directory it could not write to the plan lost its
//! `load:` line.

use std::path::Path;
use std::process::Command;

use tether_testkit::ScratchDir;

/// `tether ARGS` run in `cwd`: (exit code, stdout, stderr).
fn tether_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .current_dir(cwd)
        .env("TETHER_SEED", "plan-r14")
        .output()
        .expect("run tether");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn planning_a_sqlite_destination_writes_no_file_in_the_current_directory() {
    let dir = ScratchDir::new("plan_r14");
    let data = dir.join("data");
    let cwd = dir.join("cwd");
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::create_dir_all(&cwd).expect("cwd");
    rusqlite::Connection::open(data.join("src.sqlite"))
        .expect("open")
        .execute_batch("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO item VALUES (1, 'a');")
        .expect("source");
    let job = data.join("job.toml");
    std::fs::write(
        &job,
        "source = \"sqlite://src.sqlite\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://copy.sqlite\"\n",
    )
    .expect("job");

    let (code, out, err) = tether_in(&cwd, &["plan", job.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("  load: "), "the plan says how it loads: {out}");
    assert_eq!(entries(&cwd), Vec::<String>::new(), "nothing written in the cwd");
    assert_eq!(entries(&data), ["job.toml", "src.sqlite"], "no destination file either");
}
