//! Twentieth review, B (nineteenth session writer B): re-runs with `skip` / `update`.
//! F1: into a MariaDB table whose key's first column has MariaDB's own `uuid`, `inet4`,
//! `inet6` or a geometry type, the guard of ON DUPLICATE KEY UPDATE mixed that type
//! with an `int` in an `IF` and the server refused it (4078), first run included: every
//! key type goes through, first run and re-run, and a clash on another unique key is
//! still refused naming the row. F2: a re-run with another seed on a table whose key
//! the job transforms adds a second anonymized copy: the report says so (never the
//! seed).

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn job(src: &TestDb, dest: &TestDb, conflict: &str, extra: &str) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n{extra}\n[[destinations]]\nurl = \"{}\"\non_conflict = \"{conflict}\"\n",
        src.url, dest.url
    )
}

/// (column type, three values as SQL: two rows first, the third added later).
const TYPES: [(&str, [&str; 3]); 15] = [
    (
        "uuid",
        [
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'",
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13'",
        ],
    ),
    ("inet4", ["'10.0.0.1'", "'10.0.0.2'", "'10.0.0.3'"]),
    ("inet6", ["'::1'", "'2001:db8::2'", "'::3'"]),
    ("binary(4)", ["x'01020304'", "x'01020305'", "x'01020306'"]),
    ("bit(8)", ["b'1'", "b'10'", "b'11'"]),
    ("enum('a','b','c')", ["'a'", "'b'", "'c'"]),
    ("set('a','b','c')", ["'a'", "'a,b'", "'c'"]),
    ("date", ["'2020-01-01'", "'2020-01-02'", "'2020-01-03'"]),
    (
        "datetime(6)",
        [
            "'2020-01-01 00:00:00.000001'",
            "'2020-01-01 00:00:00.000002'",
            "'2020-01-01 00:00:00.000003'",
        ],
    ),
    ("time(3)", ["'10:00:00.001'", "'10:00:00.002'", "'10:00:00.003'"]),
    ("year", ["2020", "2021", "2022"]),
    ("decimal(10,2)", ["1.25", "1.26", "1.27"]),
    ("double", ["1.5", "2.5", "3.5"]),
    ("varchar(36) COLLATE utf8mb4_general_ci", ["'a'", "'b '", "'c'"]),
    ("bigint unsigned", ["18446744073709551615", "0", "7"]),
];

fn count(db: &TestDb, table: &str) -> String {
    one(db, &format!("SELECT count(*) FROM {table}"))
}

/// MariaDB to MariaDB, one table per key type (its first key column of that type, a
/// second key column after it for half of them): the first run with `skip` / `update`
/// into an empty destination copies both rows; after the source changes one row's `v`
/// and gains a third row, a re-run holds three rows, with the old `v` (skip) or the new
/// one (update). Before the fix uuid, inet4 and inet6 failed with 4078.
#[test]
fn every_mariadb_key_type_goes_through_skip_and_update_first_run_and_rerun() {
    for conflict in ["skip", "update"] {
        let src = TestDb::create(Engine::Mysql);
        let mut ddl = String::new();
        for (i, (ty, v)) in TYPES.iter().enumerate() {
            // Odd tables: a composite key whose first column is of the type.
            let (cols, key) = match i % 2 {
                0 => ("k", "k"),
                _ => ("k, n", "k, n"),
            };
            let n = match i % 2 {
                0 => "",
                _ => "n int NOT NULL, ",
            };
            let ins = |val: &str, x: &str| match i % 2 {
                0 => format!("({val}, {x})"),
                _ => format!("({val}, 1, {x})"),
            };
            ddl.push_str(&format!(
                "CREATE TABLE t{i} (k {ty} NOT NULL, {n}v int, PRIMARY KEY ({key})); \
                 INSERT INTO t{i} ({cols}, v) VALUES {}, {};",
                ins(v[0], "1"),
                ins(v[1], "2")
            ));
        }
        src.exec(&ddl);
        let dest = TestDb::create(Engine::Mysql);
        let report = sync(&job(&src, &dest, conflict, "")).unwrap_or_else(|e| panic!("{conflict} first run: {e}"));
        assert!(report.ok, "{conflict}: {report:?}");
        for (i, (ty, _)) in TYPES.iter().enumerate() {
            assert_eq!(count(&dest, &format!("t{i}")), "2", "{conflict} {ty}");
        }
        // The source changes: one row's v, and a third row.
        let mut change = String::new();
        for (i, (_, v)) in TYPES.iter().enumerate() {
            let row = match i % 2 {
                0 => format!("({}, 3)", v[2]),
                _ => format!("({}, 1, 3)", v[2]),
            };
            let cols = match i % 2 {
                0 => "k",
                _ => "k, n",
            };
            change.push_str(&format!(
                "UPDATE t{i} SET v = 20 WHERE v = 2; INSERT INTO t{i} ({cols}, v) VALUES {row};"
            ));
        }
        src.exec(&change);
        let report = sync(&job(&src, &dest, conflict, "")).unwrap_or_else(|e| panic!("{conflict} re-run: {e}"));
        assert!(report.ok, "{conflict}: {report:?}");
        assert!(report.warnings.is_empty(), "{conflict}: {:?}", report.warnings);
        let values = match conflict {
            "skip" => "1,2,3",
            _ => "1,3,20",
        };
        for (i, (ty, _)) in TYPES.iter().enumerate() {
            let t = format!("t{i}");
            assert_eq!(count(&dest, &t), "3", "{conflict} {ty}");
            assert_eq!(
                one(&dest, &format!("SELECT group_concat(v ORDER BY v) FROM {t}")),
                values,
                "{conflict} {ty}"
            );
        }
        // A third run changes nothing.
        let report = sync(&job(&src, &dest, conflict, "")).unwrap_or_else(|e| panic!("{conflict} third run: {e}"));
        assert!(report.ok, "{conflict}: {report:?}");
        for (i, (ty, _)) in TYPES.iter().enumerate() {
            assert_eq!(count(&dest, &format!("t{i}")), "3", "{conflict} {ty}");
        }
    }
}

/// Geometry as a key and native uuid / inet6 keys into tables that were there, with a
/// second unique key: a source row whose key is new but whose `u` is a destination
/// row's is refused naming the row and the other row's key (the guard's error), never
/// dropped or written over that row; a row whose key is there is kept or overwritten.
#[test]
fn native_key_types_keep_the_guard_on_another_unique_key() {
    let kinds = [
        (
            "uuid",
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
            "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a99'",
        ),
        ("inet6", "'::1'", "'::99'"),
        (
            "point",
            "ST_GeomFromText('POINT(1 1)')",
            "ST_GeomFromText('POINT(9 9)')",
        ),
    ];
    for (ty, there, new) in kinds {
        for conflict in ["skip", "update"] {
            let src = TestDb::create(Engine::Mysql);
            let dest = TestDb::create(Engine::Mysql);
            let table = format!("CREATE TABLE g (k {ty} NOT NULL PRIMARY KEY, u int NOT NULL UNIQUE, v int);");
            src.exec(&format!("{table} INSERT INTO g VALUES ({there}, 1, 10)"));
            dest.exec(&format!("{table} INSERT INTO g VALUES ({there}, 1, 5)"));
            // Same key: kept or overwritten.
            let report = sync(&job(&src, &dest, conflict, "")).unwrap_or_else(|e| panic!("{ty} {conflict}: {e}"));
            assert!(report.ok, "{ty} {conflict}: {report:?}");
            let v = match conflict {
                "skip" => "5",
                _ => "10",
            };
            assert_eq!(one(&dest, "SELECT group_concat(v) FROM g"), v, "{ty} {conflict}");
            // A new key clashing on u: refused, the row there left as it was.
            src.exec(&format!("DELETE FROM g; INSERT INTO g VALUES ({new}, 1, 30)"));
            let e = sync(&job(&src, &dest, conflict, "")).expect_err(&format!("{ty} {conflict}: must refuse"));
            let text = e.to_string();
            assert!(text.contains("table g: row (k)="), "{ty} {conflict}: {text}");
            assert!(
                text.contains(
                    "it clashes with a destination row whose key (k) is another on a unique key other than that"
                ),
                "{ty} {conflict}: {text}"
            );
            assert!(!text.contains("4078"), "{ty} {conflict}: {text}");
            assert_eq!(count(&dest, "g"), "1", "{ty} {conflict}");
            assert_eq!(one(&dest, "SELECT group_concat(v) FROM g"), v, "{ty} {conflict}");
        }
    }
}

const SEED_A: &str = "sekrit-SEED-alpha";
const SEED_B: &str = "sekrit-SEED-bravo";

fn seeded(seed: &str) -> String {
    format!(
        "seed = \"{seed}\"\n[transform.p]\nid = \"hash\"\ncode = \"scramble\"\n[transform.plain]\nname = \"scramble\"\n"
    )
}

/// A job hashing p's key (inherited by c's FK) and scrambling its unique code: run with
/// one seed, again with the same seed (skip, update: nothing added, no warning), then
/// with another seed: every row of p goes in beside the earlier ones, exit ok, and the
/// report warns naming p, its key and counts, in its text and JSON, never a seed. Tables
/// whose key is not transformed (c, whose FK alone is; plain) get no warning.
#[test]
fn a_rerun_with_another_seed_on_transformed_keys_is_warned_about() {
    for (s, d) in [
        (Engine::Postgres, Engine::Postgres),
        (Engine::Sqlite, Engine::Mysql),
        (Engine::Mysql, Engine::Sqlite),
    ] {
        for conflict in ["skip", "update"] {
            let src = TestDb::create(s);
            src.exec(
                "CREATE TABLE p (id int PRIMARY KEY, code varchar(20) NOT NULL UNIQUE, v int); \
                 CREATE TABLE c (id int PRIMARY KEY, p_id int NOT NULL REFERENCES p (id)); \
                 CREATE TABLE plain (id int PRIMARY KEY, name varchar(20)); \
                 INSERT INTO p VALUES (1, 'alpha', 1), (2, 'bravo', 2), (3, 'charlie', 3); \
                 INSERT INTO c VALUES (1, 1), (2, 1), (3, 2), (4, 3); \
                 INSERT INTO plain VALUES (1, 'x'), (2, 'y')",
            );
            let dest = TestDb::create(d);
            let at = format!("{s}->{d} {conflict}");
            let first = sync(&job(&src, &dest, "error", &seeded(SEED_A))).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(first.ok, "{at}: {first:?}");
            let same = sync(&job(&src, &dest, conflict, &seeded(SEED_A))).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(same.ok, "{at}: {same:?}");
            assert!(same.warnings.is_empty(), "{at}: {:?}", same.warnings);
            assert_eq!(
                (count(&dest, "p"), count(&dest, "c"), count(&dest, "plain")),
                ("3".into(), "4".into(), "2".into()),
                "{at}"
            );
            let other = sync(&job(&src, &dest, conflict, &seeded(SEED_B))).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert!(other.ok, "{at}: {other:?}");
            assert_eq!(
                (count(&dest, "p"), count(&dest, "c"), count(&dest, "plain")),
                ("6".into(), "4".into(), "2".into()),
                "{at}"
            );
            let w = other.warnings.join("\n");
            assert!(
                w.contains(
                    "table p: none of the 3 rows this run wrote matched one of the 3 rows it held before, on its key \
                     (id) whose id the job transforms"
                ),
                "{at}: {w}"
            );
            assert!(
                w.contains("the table now holds both runs' rows (6 in all)"),
                "{at}: {w}"
            );
            assert!(w.contains("a run with another seed needs truncate = true"), "{at}: {w}");
            assert!(!w.contains("table plain") && !w.contains("table c"), "{at}: {w}");
            let json = serde_json::to_string(&other).expect("json");
            assert!(
                json.contains("none of the 3 rows this run wrote matched"),
                "{at}: {json}"
            );
            for secret in [SEED_A, SEED_B, "sekrit"] {
                assert!(!json.contains(secret), "{at}: {json}");
                assert!(!w.contains(secret), "{at}: {w}");
            }
        }
    }
}
