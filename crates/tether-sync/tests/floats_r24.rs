//! Twenty-fourth session (review r24b F2): a PostgreSQL `real` holding the largest
//! float4 (3.4028235e38) could not be copied into a MariaDB FLOAT: Tether sent the
//! shortest decimal of the float4, which as a double is above FLT_MAX, and MariaDB
//! refused it (1264 "Out of range"). Now the float4 extremes go to MariaDB and back to
//! PostgreSQL as the same floats.

mod common;

use common::*;
use tether_testkit::{TestDb, TestEngine as Engine};

fn job(src: &TestDb, dest: &TestDb) -> String {
    format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\n",
        src.url, dest.url
    )
}

/// The largest float4 and its negative, the smallest positive normal and the smallest
/// subnormal, as keys and as values: PostgreSQL -> MariaDB (tables created) holds each
/// as the float it is (read as a double: the float4 widened exactly), and MariaDB ->
/// PostgreSQL gives back exactly the source's rows.
#[test]
fn float4_extremes_go_to_mariadb_and_back_unchanged() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE fl (k real PRIMARY KEY, v real); \
         INSERT INTO fl VALUES ('3.4028235e38', '-3.4028235e38'), ('-3.4028235e38', '1e-45'), \
         ('1.1754944e-38', '3.4028235e38'), ('1e-45', '-1e-45'), ('0.1', '1.1754944e-38')",
    );
    let my = TestDb::create(Engine::Mysql);
    let report = sync(&job(&src, &my)).unwrap_or_else(|e| panic!("PG -> MariaDB: {e}"));
    assert!(report.ok, "{report:?}");
    let widened = |f: f32| format!("{:e}", f64::from(f));
    let want: Vec<Vec<Option<String>>> = [
        (-f32::MAX, 1e-45_f32),
        (1e-45, -1e-45),
        (f32::MIN_POSITIVE, f32::MAX),
        (0.1, f32::MIN_POSITIVE),
        (f32::MAX, -f32::MAX),
    ]
    .iter()
    .map(|&(k, v)| vec![Some(widened(k)), Some(widened(v))])
    .collect();
    let got: Vec<Vec<Option<String>>> = my
        .query("SELECT CAST(k AS DOUBLE), CAST(v AS DOUBLE) FROM fl ORDER BY k")
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| v.map(|t| widened(t.parse::<f64>().expect("a double") as f32)))
                .collect()
        })
        .collect();
    assert_eq!(got, want);
    // Exactly those doubles (not only the same floats once narrowed).
    let doubles: Vec<String> = my
        .query("SELECT CAST(k AS DOUBLE) FROM fl ORDER BY k")
        .into_iter()
        .map(|r| r[0].clone().expect("k"))
        .collect();
    assert_eq!(
        doubles,
        [
            "-3.4028234663852886e38",
            "1.401298464324817e-45",
            "1.1754943508222875e-38",
            "0.10000000149011612",
            "3.4028234663852886e38"
        ]
    );

    let back = TestDb::create(Engine::Postgres);
    let report = sync(&job(&my, &back)).unwrap_or_else(|e| panic!("MariaDB -> PG: {e}"));
    assert!(report.ok, "{report:?}");
    let as_text = "SELECT k::text, v::text FROM fl ORDER BY k";
    assert_eq!(back.query(as_text), src.query(as_text));
    assert_eq!(
        one(
            &back,
            "SELECT count(*) FROM fl f JOIN (VALUES ('3.4028235e38'::real), ('-3.4028235e38'::real)) m(x) ON f.k = m.x"
        ),
        "2"
    );
}
