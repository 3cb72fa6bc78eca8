//! Single-threaded throughput of every transformer kind, in values per second.
//!
//! Run with `bash bench/transform.sh` (release build). Each kind transforms a set of
//! distinct realistic inputs repeatedly for about `TETHER_BENCH_SECONDS` (default 0.5)
//! seconds; the figure is values transformed per second of wall time on one thread.

use std::time::{Duration, Instant};

use tether_schema::{Column, Value};
use tether_transform::{build, RowView, Seed, TransformSpec, UniqueGuard};

fn col(ty: &str) -> Column {
    Column {
        name: "c".into(),
        engine_type: ty.into(),
        normalized_type: ty.parse().expect("DataType parsing is infallible"),
        nullable: true,
        default: None,
        identity: None,
        generated: None,
    }
}

fn inputs(kind: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| match kind {
            "int" => Value::Int(i as i64 * 7919 + 1),
            "email" => Value::Text(format!("user{i}.name@mail{}.com", i % 97)),
            "name" => Value::Text(format!("Person Number{i}")),
            "text" => Value::Text(format!("Customer note {i}: please call back before noon.")),
            "date" => Value::Text(format!("20{:02}-{:02}-{:02}", i % 30, 1 + i % 12, 1 + i % 28)),
            "ts" => Value::Text(format!(
                "2024-{:02}-{:02} {:02}:{:02}:00",
                1 + i % 12,
                1 + i % 28,
                i % 24,
                i % 60
            )),
            "decimal" => Value::Text(format!("{}.{:02}", i % 10_000, i % 100)),
            "phone" => Value::Text(format!("+1 555 {:07}", i)),
            _ => Value::Text(format!("value-{i}")),
        })
        .collect()
}

fn main() {
    let seconds: f64 = std::env::var("TETHER_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.5);
    let budget = Duration::from_secs_f64(seconds);
    let seed = Seed::new("benchmark seed");
    let js = |code: &str| TransformSpec::new("js").with("code", code);
    let cases: Vec<(&str, TransformSpec, &str, &str)> = vec![
        ("passthrough", TransformSpec::new("passthrough"), "varchar(100)", "name"),
        (
            "constant",
            TransformSpec::new("constant").with("value", "n/a"),
            "varchar(100)",
            "name",
        ),
        ("null", TransformSpec::new("null"), "varchar(100)", "name"),
        ("hash (int4 key permutation)", TransformSpec::new("hash"), "int", "int"),
        (
            "hash (int8 key permutation)",
            TransformSpec::new("hash"),
            "bigint",
            "int",
        ),
        (
            "hash (varchar(32) text)",
            TransformSpec::new("hash"),
            "varchar(32)",
            "email",
        ),
        ("uuid", TransformSpec::new("uuid"), "uuid", "name"),
        ("email", TransformSpec::new("email"), "varchar(255)", "email"),
        (
            "email keep_domain",
            TransformSpec::new("email").with("keep_domain", true),
            "varchar(255)",
            "email",
        ),
        (
            "email unique",
            TransformSpec::new("email").with("unique", true),
            "varchar(255)",
            "email",
        ),
        ("first_name", TransformSpec::new("first_name"), "varchar(50)", "name"),
        ("last_name", TransformSpec::new("last_name"), "varchar(50)", "name"),
        ("full_name", TransformSpec::new("full_name"), "varchar(100)", "name"),
        ("username", TransformSpec::new("username"), "varchar(50)", "name"),
        ("phone e164", TransformSpec::new("phone"), "varchar(20)", "phone"),
        (
            "phone keep",
            TransformSpec::new("phone").with("format", "keep"),
            "varchar(20)",
            "phone",
        ),
        (
            "street_address",
            TransformSpec::new("street_address"),
            "varchar(100)",
            "text",
        ),
        ("city", TransformSpec::new("city"), "varchar(50)", "name"),
        ("state", TransformSpec::new("state"), "char(2)", "name"),
        ("zip", TransformSpec::new("zip"), "varchar(10)", "name"),
        ("country", TransformSpec::new("country"), "varchar(60)", "name"),
        ("company", TransformSpec::new("company"), "varchar(100)", "name"),
        ("ip", TransformSpec::new("ip"), "varchar(45)", "name"),
        ("credit_card", TransformSpec::new("credit_card"), "varchar(20)", "phone"),
        ("ssn", TransformSpec::new("ssn"), "varchar(11)", "name"),
        ("lorem", TransformSpec::new("lorem"), "text", "text"),
        (
            "scramble (text)",
            TransformSpec::new("scramble"),
            "varchar(100)",
            "email",
        ),
        ("scramble (int)", TransformSpec::new("scramble"), "bigint", "int"),
        (
            "categorical",
            TransformSpec::new("categorical").with("values", vec!["gold", "silver", "bronze"]),
            "varchar(10)",
            "name",
        ),
        (
            "int_range",
            TransformSpec::new("int_range").with("min", 0).with("max", 1000),
            "int",
            "int",
        ),
        (
            "decimal_range",
            TransformSpec::new("decimal_range").with("min", 0).with("max", 500),
            "decimal(10,2)",
            "decimal",
        ),
        (
            "noise (decimal)",
            TransformSpec::new("noise"),
            "decimal(10,2)",
            "decimal",
        ),
        ("noise (int)", TransformSpec::new("noise"), "int", "int"),
        ("date_shift", TransformSpec::new("date_shift"), "date", "date"),
        (
            "date_shift keep_order (timestamp)",
            TransformSpec::new("date_shift").with("keep_order", true),
            "timestamp",
            "ts",
        ),
        ("generate_uuid", TransformSpec::new("generate_uuid"), "uuid", "name"),
        (
            "generate_email",
            TransformSpec::new("generate_email"),
            "varchar(255)",
            "email",
        ),
        (
            "js (value) => value.toUpperCase()",
            js("v => v.toUpperCase()"),
            "varchar(100)",
            "name",
        ),
        (
            "js tether.hash",
            js("v => tether.hash(v).slice(0, 12)"),
            "varchar(100)",
            "name",
        ),
        (
            "js (value, row) reads 4 columns",
            js("(v, row) => row.first + ' ' + row.last"),
            "varchar(100)",
            "name",
        ),
    ];
    let columns = vec![
        "first".to_string(),
        "last".to_string(),
        "city".to_string(),
        "id".to_string(),
    ];
    let row_values = vec![
        Value::Text("Ada".into()),
        Value::Text("Lovelace".into()),
        Value::Text("London".into()),
        Value::Int(1),
    ];
    println!("{:<40} {:>14}", "transformer", "values/s");
    for (label, spec, ty, input_kind) in cases {
        let column = col(ty);
        let t = match build(&spec, &column, &seed) {
            Ok(t) => t,
            Err(e) => {
                println!("{label:<40} build failed: {e}");
                continue;
            }
        };
        let data = inputs(input_kind, 100_000);
        let row = RowView::new(&columns, &row_values);
        let start = Instant::now();
        let mut done = 0u64;
        let mut sink = 0usize;
        while start.elapsed() < budget {
            for v in &data {
                match t.apply(v, &row) {
                    Ok(Value::Text(s)) => sink += s.len(),
                    Ok(_) => sink += 1,
                    Err(e) => {
                        println!("{label:<40} failed on {v}: {e}");
                        return;
                    }
                }
            }
            done += data.len() as u64;
        }
        let rate = done as f64 / start.elapsed().as_secs_f64();
        println!("{label:<40} {:>14.0}{}", rate, if sink == 0 { " (?)" } else { "" });
    }
    // The uniqueness guard's cost per key, for text keys under a non-injective kind.
    let data = inputs("email", 1_000_000);
    let mut guard = UniqueGuard::new(vec!["email".into()]);
    let start = Instant::now();
    for v in &data {
        if let Err(e) = guard.check(std::slice::from_ref(v)) {
            println!("unique guard: {e}");
            return;
        }
    }
    let rate = data.len() as f64 / start.elapsed().as_secs_f64();
    println!("{:<40} {:>14.0}", "UniqueGuard::check (1M distinct keys)", rate);
}
