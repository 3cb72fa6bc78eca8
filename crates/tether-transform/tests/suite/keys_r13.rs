//! Thirteenth review (findings r13d #5, #10): a key's transformer gives equal values equal
//! outputs whatever column type or engine they were read from. Every keyed kind is run
//! the way FK inheritance runs it (the parent's canonical spec built on each column) over
//! pairs of equal values spelled as two column types or two engines read them; the
//! outputs must be the same value (compared in their columns' canonical forms).

use tether_schema::{DataType, Value};
use tether_transform::{build, canonical_spec, canonical_value, resolve, RowView, TransformSpec};

use crate::common::*;

/// One value as a column of type `.0` reads it, `.1`.
type Read = (&'static str, Value);

fn spec(kind: &str, options: &[(&str, toml::Value)]) -> TransformSpec {
    let mut s = TransformSpec::new(kind);
    for (k, v) in options {
        s = s.with(k, v.clone());
    }
    s
}

/// The output of `spec` (set on a column of `parent`'s type) for each read, as a key of
/// its column type; all must be equal.
fn same_output(spec: &TransformSpec, parent: &Read, children: &[Read]) {
    let parent_col = col("p", parent.0, true);
    let canonical = canonical_spec(spec, &parent_col).unwrap_or_else(|e| panic!("{spec} on {}: {e}", parent.0));
    let on = |ty: &str, v: &Value| -> Value {
        let column = col("c", ty, true);
        let t = build(&canonical, &column, &seed()).unwrap_or_else(|e| panic!("{canonical} on {ty}: {e}"));
        let out = t
            .apply(v, &RowView::EMPTY)
            .unwrap_or_else(|e| panic!("{canonical} on {ty} {v:?}: {e}"));
        canonical_value(&out, &ty.parse::<DataType>().unwrap())
    };
    let expected = on(parent.0, &parent.1);
    assert_ne!(
        expected,
        canonical_value(&parent.1, &parent.0.parse::<DataType>().unwrap()),
        "{canonical} changed nothing"
    );
    for (ty, v) in children {
        assert_eq!(
            on(ty, v),
            expected,
            "{canonical}: {} {:?} -> {expected:?}, but {ty} {v:?} differs",
            parent.0,
            parent.1
        );
    }
}

fn n(s: &str) -> Value {
    text(s)
}

#[test]
fn integer_keys_of_every_width_and_decimals_of_scale_zero_agree() {
    let parent: Read = ("int", Value::Int(12345));
    let children: Vec<Read> = vec![
        ("bigint", Value::Int(12345)),
        ("bigint", Value::UInt(12345)),
        ("int unsigned", Value::UInt(12345)),
        ("decimal(10,0)", n("12345")),
        ("decimal(12,2)", n("12345.00")),
    ];
    same_output(&spec("noise", &[("relative", 0.5.into())]), &parent, &children);
    same_output(
        &spec("int_range", &[("min", 1.into()), ("max", 1_000_000.into())]),
        &parent,
        &children,
    );
    same_output(&spec("hash", &[]), &parent, &children[..2]);
    same_output(&spec("hash", &[]), &parent, &children[3..4]);
}

#[test]
fn decimal_keys_of_other_scales_and_engines_agree() {
    // PostgreSQL numeric(10,2), MariaDB decimal(12,4) and decimal(65,30), SQLite's real.
    let parent: Read = ("decimal(10,2)", n("1.50"));
    let children: Vec<Read> = vec![
        ("decimal(12,4)", n("1.5000")),
        ("decimal(65,30)", n("1.500000000000000000000000000000")),
        ("decimal(10,2)", Value::Float(1.5)),
        ("decimal(10,2)", n("1.5")),
    ];
    same_output(&spec("noise", &[("relative", 0.5.into())]), &parent, &children);
    same_output(
        &spec("decimal_range", &[("min", 1.into()), ("max", 100.into())]),
        &parent,
        &children,
    );
    // SQLite holds 3.00 as the integer 3.
    let whole: Read = ("decimal(10,2)", n("3.00"));
    same_output(
        &spec("noise", &[("relative", 0.5.into())]),
        &whole,
        &[("decimal(10,2)", Value::Int(3)), ("decimal(12,4)", n("3.0000"))],
    );
}

#[test]
fn dates_and_timestamps_of_one_instant_agree() {
    let shift = spec("date_shift", &[("max_days", 30.into())]);
    let ordered = spec("date_shift", &[("max_days", 30.into()), ("keep_order", true.into())]);
    // A date and the midnight timestamp (PostgreSQL's FK date -> timestamp).
    let day: Read = ("date", n("2024-01-01"));
    let midnights: Vec<Read> = vec![
        ("timestamp", n("2024-01-01 00:00:00")),
        ("timestamp", n("2024-01-01T00:00:00")),
        ("timestamp(3)", n("2024-01-01 00:00:00.000")),
    ];
    same_output(&shift, &day, &midnights);
    same_output(&ordered, &day, &midnights);
    same_output(&shift, &midnights[0], std::slice::from_ref(&day));
    // datetime(3) and datetime (MariaDB), timestamp and datetime(6) across engines.
    let at: Read = ("timestamp(3)", n("2024-01-01 10:00:00.000"));
    let same_at: Vec<Read> = vec![("timestamp", n("2024-01-01 10:00:00"))];
    same_output(&shift, &at, &same_at);
    same_output(&ordered, &at, &same_at);
    let half: Read = ("timestamp", n("2023-12-31 23:59:59.5"));
    same_output(&shift, &half, &[("timestamp(6)", n("2023-12-31 23:59:59.500000"))]);
    same_output(&ordered, &half, &[("timestamp(6)", n("2023-12-31 23:59:59.500000"))]);
}

#[test]
fn blank_padded_chars_agree_with_their_unpadded_value() {
    // PostgreSQL reads char(10) 'abc' blank-padded, MariaDB does not; varchar is equal.
    let parent: Read = ("char(10)", n("abc       "));
    let children: Vec<Read> = vec![("char(10)", n("abc")), ("varchar(10)", n("abc"))];
    for kind in [
        "hash",
        "email",
        "first_name",
        "last_name",
        "full_name",
        "username",
        "lorem",
        "scramble",
        "city",
    ] {
        same_output(&spec(kind, &[]), &parent, &children);
    }
}

#[test]
fn uuids_agree_whatever_their_case() {
    let parent: Read = ("uuid", n("0e0f1a2b-0000-4000-8000-00000000abcd"));
    let children: Vec<Read> = vec![("uuid", n("0E0F1A2B-0000-4000-8000-00000000ABCD"))];
    same_output(&spec("hash", &[]), &parent, &children);
    same_output(&spec("uuid", &[]), &parent, &children);
}

fn two_tables(parent_ty: &str, child_ty: &str) -> tether_schema::Schema {
    schema(vec![
        table("par", &[("v", parent_ty, false)], &["v"], vec![]),
        table(
            "kid",
            &[("id", "int", false), ("v", child_ty, true)],
            &["id"],
            vec![fk("kid_v_fk", &["v"], "par", &["v"])],
        ),
    ])
}

fn resolve_err(parent_ty: &str, child_ty: &str, spec: TransformSpec) -> String {
    let s = two_tables(parent_ty, child_ty);
    resolve(&s, &[at("par", "v", spec)]).expect_err("refused").to_string()
}

/// Where no canonical form can make the outputs agree, the plan refuses, naming the FK
/// and what differs.
#[test]
fn what_cannot_agree_is_refused_naming_the_fk() {
    // noise on an unbounded numeric keeps each value's digits (1.5 vs 1.50).
    let e = resolve_err("decimal", "decimal", spec("noise", &[]));
    assert!(
        e.starts_with("foreign key `kid_v_fk`: kid.v inherits the transformer of par.v"),
        "{e}"
    );
    assert!(
        e.contains("no declared scale") && e.contains("set `scale` on the parent"),
        "{e}"
    );
    // With a scale it is one function.
    let s = two_tables("decimal", "decimal(12,4)");
    let r = resolve(&s, &[at("par", "v", spec("noise", &[("scale", 2.into())]))]).expect("a scale fixes the digits");
    assert_eq!(r.len(), 2);
    // A decimal parent's digits do not fit an integer child.
    let e = resolve_err("decimal(10,2)", "int", spec("noise", &[]));
    assert!(
        e.contains("kid_v_fk") && e.contains("2 digits after the point do not fit int"),
        "{e}"
    );
    // An order-keeping shift in seconds cannot be kept on a date child; in days it can
    // on a timestamp child.
    let keep = spec("date_shift", &[("keep_order", true.into())]);
    let e = resolve_err("timestamp", "date", keep.clone());
    assert!(
        e.contains("kid_v_fk") && e.contains("a date column moves by whole days"),
        "{e}"
    );
    let s = two_tables("date", "timestamp");
    resolve(&s, &[at("par", "v", keep)]).expect("days on a timestamp child");
    // scramble keeps the spelling: an int and a decimal spell 5 differently.
    let e = resolve_err("int", "decimal(10,2)", spec("scramble", &[]));
    assert!(e.contains("kid_v_fk") && e.contains("scramble keeps the shape"), "{e}");
}
