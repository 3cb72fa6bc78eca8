//! Sixteenth review, Y1-Y4: sync under failure. Y1: `on_conflict = "skip"` dropped the
//! source's rows that clashed on a destination-only unique key (not the row's key), and
//! verification, counting rows only, was fooled when the table already held rows. Each
//! test replays the reviewer's scenario on the real servers and asserts the rows the
//! destination keeps and the error.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::Mysql, Engine::Sqlite];

fn skip_job(src: &TestDb, dest: &TestDb) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[options]\nbatch_size = 2\n[tables]\ninclude = [\"c\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"skip\"\n",
        src.url, dest.url
    )
}

/// Y1: the destination's c has a unique key (p, v) the source does not, and holds row 3
/// (the source's row 3 too: skipped, kept as it was) and row 100 with (p, v) = (1, 1).
/// The source's row 1 has (1, 1) and an id the destination does not hold: skipping it
/// would lose it. The run fails naming c, the row and the key; row 1 is not there and
/// rows 3 and 100 are as they were. Without row 100 the same run completes.
#[test]
fn skip_refuses_a_row_clashing_on_another_unique_key_instead_of_dropping_it() {
    for engine in ENGINES {
        let src = TestDb::create(Engine::Sqlite);
        src.exec(
            "CREATE TABLE c (id int PRIMARY KEY, p int NOT NULL, v int NOT NULL); \
             INSERT INTO c VALUES (1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4)",
        );
        let dest = TestDb::create(engine);
        dest.exec(
            "CREATE TABLE c (id int PRIMARY KEY, p int NOT NULL, v int NOT NULL, \
             CONSTRAINT c_pv UNIQUE (p, v)); INSERT INTO c VALUES (3, 9, 9), (100, 1, 1)",
        );
        let e = sync(&skip_job(&src, &dest)).expect_err(&format!("{engine}: must refuse"));
        let text = e.to_string();
        assert!(text.contains("table c"), "{engine}: {text}");
        assert!(
            text.contains("(id)=(1)") || text.contains("(in a batch"),
            "{engine}: {text}"
        );
        assert!(
            text.contains("on_conflict = \"skip\" keeps only a row whose key"),
            "{engine}: {text}"
        );
        assert!(text.contains("(id)"), "{engine}: {text}");
        let all = rows(&dest, "c", "id");
        assert!(
            all.iter().all(|r| r[0] != "1"),
            "{engine}: row 1 must not be there: {all:?}"
        );
        assert!(
            all.contains(&vec!["3".to_string(), "9".into(), "9".into()]),
            "{engine}: {all:?}"
        );
        assert!(
            all.contains(&vec!["100".to_string(), "1".into(), "1".into()]),
            "{engine}: {all:?}"
        );

        dest.exec("DELETE FROM c WHERE id = 100");
        let report = sync(&skip_job(&src, &dest)).unwrap_or_else(|e| panic!("{engine}: {e}"));
        assert!(report.ok, "{engine}: {report:?}");
        let all = rows(&dest, "c", "id");
        let want: Vec<Vec<String>> = [(1, 1, 1), (2, 2, 2), (3, 9, 9), (4, 4, 4)]
            .iter()
            .map(|(a, b, c)| vec![a.to_string(), b.to_string(), c.to_string()])
            .collect();
        assert_eq!(all, want, "{engine}");
    }
}

/// Y4 (MariaDB): c exists with an AFTER INSERT trigger, which the load drops and must
/// create again after a failure. The destination connection is killed mid-load; the
/// undo used to run on the dead connection and the trigger stayed dropped. It must be
/// there again after the failed run.
#[test]
fn a_killed_destination_connection_gets_the_suspended_trigger_back() {
    let src = TestDb::create(Engine::Sqlite);
    let values: Vec<String> = (1..=400).map(|i| format!("({i}, {i})")).collect();
    let mut script = String::from("CREATE TABLE c (id int PRIMARY KEY, v int NOT NULL);");
    for _ in 0..50 {
        script.push_str(&format!("INSERT INTO c SELECT id + (SELECT coalesce(max(id), 0) FROM c), v FROM (SELECT * FROM (VALUES {}) AS t(id, v));", values.join(", ")));
    }
    src.exec(
        &script
            .replace(
                "(SELECT * FROM (VALUES",
                "(SELECT column1 AS id, column2 AS v FROM (VALUES",
            )
            .replace(") AS t(id, v))", "))"),
    );
    let dest = TestDb::create(Engine::Mysql);
    dest.exec(
        "CREATE TABLE c (id int PRIMARY KEY, v int NOT NULL); CREATE TABLE audit (n int); \
         CREATE TRIGGER c_audit AFTER INSERT ON c FOR EACH ROW INSERT INTO audit VALUES (NEW.id)",
    );
    let db = dest.query("SELECT DATABASE()")[0][0].clone().unwrap();
    let killer = {
        let url = dest.url.clone();
        let db = db.clone();
        std::thread::spawn(move || {
            let start = std::time::Instant::now();
            while start.elapsed() < std::time::Duration::from_secs(60) {
                let n = tether_testkit::query_url(Engine::Mysql, &url, "SELECT count(*) FROM c");
                if n[0][0].as_deref().unwrap_or("0") != "0" {
                    let ids = tether_testkit::query_url(
                        Engine::Mysql,
                        &url,
                        &format!(
                            "SELECT id FROM information_schema.PROCESSLIST WHERE db = '{db}' AND id <> CONNECTION_ID()"
                        ),
                    );
                    for id in ids {
                        let _ = std::panic::catch_unwind(|| {
                            tether_testkit::exec_url(Engine::Mysql, &url, &format!("KILL {}", id[0].clone().unwrap()))
                        });
                    }
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            false
        })
    };
    let job = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[options]\nbatch_size = 50\n[tables]\ninclude = [\"c\"]\n\
         [[destinations]]\nurl = \"{}\"\non_conflict = \"skip\"\n",
        src.url, dest.url
    );
    let result = sync(&job);
    assert!(killer.join().unwrap(), "the load never started");
    let e = result.expect_err("the killed connection must fail the run");
    let triggers = one(
        &dest,
        &format!("SELECT count(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{db}' AND TRIGGER_NAME = 'c_audit'"),
    );
    assert_eq!(triggers, "1", "the trigger must be back: {e}");
}
