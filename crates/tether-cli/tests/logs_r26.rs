//! Twenty-sixth session, review r26g F2: `-vv` turned on every crate's debug log,
//! and the PostgreSQL driver logs each statement with its text: the subset's key
//! lists (the source's original e-mails, a column the job anonymizes) and the
//! rows written reached stderr. `-v` / `-vv` now raise Tether's own crates only
//! (their lines carry names, counts and timings); `TETHER_LOG` is taken as written.

use std::process::Command;

use tether_testkit::{ScratchDir, TestDb, TestEngine};

const EMAIL: &str = "hidden.person@example.org";

#[test]
fn very_verbose_logs_carry_no_source_values() {
    let src = TestDb::create(TestEngine::Postgres);
    src.exec(&format!(
        "CREATE TABLE customer (id INT PRIMARY KEY, email TEXT NOT NULL UNIQUE);
         CREATE TABLE orders (id INT PRIMARY KEY, customer_email TEXT NOT NULL
           REFERENCES customer (email), note TEXT);
         INSERT INTO customer VALUES (1, '{EMAIL}'), (2, 'other.person@example.org');
         INSERT INTO orders VALUES (10, '{EMAIL}', 'note-zq81'), (11, 'other.person@example.org', 'note-zq82');"
    ));
    let dir = ScratchDir::new("logs_r26");
    let job = dir.join("job.toml");
    std::fs::write(
        &job,
        format!(
            "source = \"{}\"\nseed = \"s\"\nprivacy = \"off\"\n\
             [[destinations]]\nurl = \"sqlite://{}\"\ntruncate = true\n\
             [[subset.targets]]\ntable = \"orders\"\nwhere = \"id = 10\"\n\
             [transform.customer]\nemail = {{ kind = \"email\", unique = true }}\n",
            src.url,
            dir.join("out.db").display()
        ),
    )
    .expect("job");
    let run = |env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tether"));
        cmd.args(["sync", job.to_str().expect("path"), "-vv"])
            .env_remove("TETHER_LOG");
        if let Some(filter) = env {
            cmd.env("TETHER_LOG", filter);
        }
        let out = cmd.output().expect("run tether");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run(None);
    // Tether's own debug lines are there (the phases of the job)...
    assert!(err.contains("phase "), "no debug lines of Tether: {err}");
    // ...and no value of the source: not the e-mail the job anonymizes, not a row.
    assert!(!err.contains(EMAIL), "a source value in the -vv log: {err}");
    assert!(!err.contains("note-zq8"), "a source row in the -vv log: {err}");
    // The driver's statement log is still there for who asks for it by name.
    let asked = run(Some("tokio_postgres=debug"));
    assert!(asked.contains(EMAIL), "TETHER_LOG not taken as written: {asked}");
}
