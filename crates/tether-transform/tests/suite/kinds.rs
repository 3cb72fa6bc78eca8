//! Every built-in kind: what its output looks like, that it is deterministic and keyed,
//! that nulls stay null, and the errors for unknown kinds, bad options and wrong types.

use crate::common::*;
use tether_schema::{Column, Value};
use tether_transform::{build, build_with, fits, BuildContext, KeyMap, RowView, Seed, TransformSpec, UniqueGuard};

fn luhn_ok(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            if i % 2 == 1 {
                if x * 2 > 9 {
                    x * 2 - 9
                } else {
                    x * 2
                }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[test]
fn email_keeps_the_domain_when_asked_and_is_deterministic() {
    let plain = t("email", "varchar(255)");
    let a = apply(&*plain, text("ada@lovelace.org"));
    assert_eq!(a, apply(&*plain, text("ada@lovelace.org")));
    let s = text_of(&a);
    let (local, domain) = s.split_once('@').unwrap();
    assert!(local.contains('.'), "{s}");
    assert!(domain.ends_with(".example") || domain.starts_with("example."), "{s}");
    let keep = spec_on(TransformSpec::new("email").with("keep_domain", true), "varchar(255)");
    let k = apply(&*keep, text("ada@lovelace.org"));
    assert!(text_of(&k).ends_with("@lovelace.org"), "{k}");
    assert_ne!(k, text("ada@lovelace.org"));
    let other_seed = build(
        &TransformSpec::new("email"),
        &col("c", "varchar(255)", true),
        &Seed::new("x"),
    )
    .unwrap();
    assert_ne!(apply(&*other_seed, text("ada@lovelace.org")), a);
    assert_eq!(
        plain.describe(),
        "email(keep_domain=false, max_length=255, truncate=true, unique=false)"
    );
}

#[test]
fn nulls_stay_null_except_for_constant_like_kinds() {
    for kind in ["email", "hash", "full_name", "scramble", "lorem", "city"] {
        assert_eq!(apply(&*t(kind, "text"), Value::Null), Value::Null, "{kind}");
    }
    let c = spec_on(TransformSpec::new("constant").with("value", "n/a"), "text");
    assert_eq!(apply(&*c, Value::Null), text("n/a"));
    assert_eq!(apply(&*t("null", "text"), text("x")), Value::Null);
}

#[test]
fn the_same_input_in_two_columns_of_different_width_gets_the_same_output() {
    let wide = t("full_name", "varchar(200)");
    let narrow = t("full_name", "varchar(100)");
    assert_eq!(
        apply(&*wide, text("Ada Lovelace")),
        apply(&*narrow, text("Ada Lovelace"))
    );
}

#[test]
fn text_is_truncated_to_the_column_or_refused() {
    let out = apply(&*t("full_name", "varchar(4)"), text("Ada Lovelace"));
    assert_eq!(text_of(&out).chars().count(), 4);
    let strict = spec_on(TransformSpec::new("full_name").with("truncate", false), "varchar(4)");
    let err = strict.apply(&text("Ada Lovelace"), &RowView::EMPTY).unwrap_err();
    assert!(err.to_string().contains("too long"), "{err}");
}

#[test]
fn names_addresses_and_the_rest_look_right() {
    let first = apply(&*t("first_name", "text"), text("Ada"));
    assert!(text_of(&first).chars().next().unwrap().is_uppercase());
    let full = apply(&*t("full_name", "text"), text("Ada Lovelace"));
    assert_eq!(text_of(&full).split(' ').count(), 2);
    let user = apply(&*t("username", "text"), text("ada"));
    assert!(text_of(&user)
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    let e164 = apply(&*t("phone", "text"), text("+1 555 0100"));
    assert!(text_of(&e164).starts_with("+1") && text_of(&e164).len() == 12, "{e164}");
    let national = apply(
        &*spec_on(TransformSpec::new("phone").with("format", "national"), "text"),
        text("x"),
    );
    assert_eq!(text_of(&national).len(), "(212) 555-0142".len(), "{national}");
    let kept = apply(
        &*spec_on(
            TransformSpec::new("phone")
                .with("format", "keep")
                .with("country_code", 44),
            "text",
        ),
        text("+44 20 7946 0958"),
    );
    assert!(
        text_of(&kept).starts_with("+44 ") && text_of(&kept).len() == 16,
        "{kept}"
    );
    let street = apply(&*t("street_address", "text"), text("1 Main St"));
    assert!(
        text_of(&street).split(' ').next().unwrap().parse::<u32>().is_ok(),
        "{street}"
    );
    let state = apply(&*t("state", "char(2)"), text("CA"));
    assert_eq!(text_of(&state).len(), 2);
    let country = apply(&*t("country", "varchar(60)"), text("France"));
    assert!(text_of(&country).len() > 3);
    let zip = apply(&*t("zip", "varchar(10)"), text("90210"));
    assert!(text_of(&zip).len() == 5 && text_of(&zip).chars().all(|c| c.is_ascii_digit()));
    let uk = apply(
        &*spec_on(TransformSpec::new("postcode").with("format", "uk"), "text"),
        text("SW1A 1AA"),
    );
    assert!(text_of(&uk).contains(' '), "{uk}");
    let company = apply(&*t("company", "text"), text("Initech"));
    assert_eq!(text_of(&company).split(' ').count(), 3, "{company}");
    let ip = apply(&*t("ip", "text"), text("10.0.0.1"));
    assert_eq!(text_of(&ip).split('.').count(), 4);
    let ip6 = apply(
        &*spec_on(TransformSpec::new("ip").with("version", 6), "text"),
        text("::1"),
    );
    assert!(text_of(&ip6).starts_with("2001:db8:"));
    for input in ["4111 1111 1111 1111", "5500-0000-0000-0004", "340000000000009"] {
        let cc = apply(&*t("credit_card", "text"), text(input));
        assert!(luhn_ok(text_of(&cc)), "{cc} from {input}");
        assert_eq!(text_of(&cc).len(), input.len(), "{cc} keeps the shape of {input}");
    }
    let ssn = apply(&*t("national_id", "text"), text("123-45-6789"));
    let parts: Vec<&str> = text_of(&ssn).split('-').collect();
    assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![3, 2, 4]);
    assert_ne!(parts[0], "000");
    assert_ne!(parts[0], "666");
    let uuid = apply(&*t("uuid", "uuid"), text("6f1c2e0a-0000-4000-8000-000000000000"));
    assert_eq!(text_of(&uuid).len(), 36);
    assert_eq!(&text_of(&uuid)[14..15], "5");
    let bytes = apply(&*t("uuid", "binary(16)"), Value::Bytes(vec![1; 16]));
    assert!(matches!(bytes, Value::Bytes(ref b) if b.len() == 16));
    let lorem = apply(&*t("lorem", "text"), text("Call me back about the invoice, please."));
    assert!(text_of(&lorem).len() <= 39 && text_of(&lorem).len() >= 30, "{lorem}");
    assert!(text_of(&lorem).ends_with('.'));
}

#[test]
fn scramble_keeps_the_format_and_changes_every_letter_and_digit() {
    let s = t("scramble", "text");
    let input = "AB-12 cd/Z9";
    let out = apply(&*s, text(input));
    let out = text_of(&out).to_string();
    assert_eq!(out.len(), input.len());
    for (a, b) in input.chars().zip(out.chars()) {
        assert_eq!(a.is_ascii_uppercase(), b.is_ascii_uppercase(), "{input} -> {out}");
        assert_eq!(a.is_ascii_lowercase(), b.is_ascii_lowercase(), "{input} -> {out}");
        assert_eq!(a.is_ascii_digit(), b.is_ascii_digit(), "{input} -> {out}");
        if a.is_ascii_alphanumeric() {
            assert_ne!(a, b);
        } else {
            assert_eq!(a, b);
        }
    }
    let n = apply(&*t("scramble", "int"), Value::Int(12345));
    let Value::Int(n) = n else { panic!() };
    assert!((10000..100000).contains(&n));
}

#[test]
fn hash_keeps_type_and_length() {
    let h = apply(&*t("hash", "varchar(12)"), text("secret"));
    assert_eq!(text_of(&h).len(), 12);
    let h = apply(&*t("hash", "char(5)"), text("abc"));
    assert_eq!(text_of(&h).len(), 5);
    let h = apply(&*t("hash", "text"), text("abc"));
    assert_eq!(text_of(&h).len(), 32);
    let i = t("hash", "smallint");
    assert!(i.injective());
    let Value::Int(v) = apply(&*i, Value::Int(7)) else {
        panic!()
    };
    assert!((0..=i16::MAX as i64).contains(&v) && v != 7);
    let u = t("hash", "bigint unsigned");
    assert!(matches!(
        apply(&*u, Value::UInt(u64::MAX)),
        Value::Int(_) | Value::UInt(_)
    ));
    let d = t("hash", "decimal(6,0)");
    let out = apply(&*d, text("123456"));
    assert!(
        fits(&out, &col("c", "decimal(6,0)", true)).is_ok() && out != Value::Int(123456),
        "{out}"
    );
    let b = apply(&*t("hash", "binary(8)"), Value::Bytes(vec![0; 8]));
    assert!(matches!(b, Value::Bytes(ref x) if x.len() == 8));
}

#[test]
fn numbers_stay_in_range_and_keep_their_scale() {
    let r = spec_on(TransformSpec::new("int_range").with("min", 18).with("max", 90), "int");
    for i in 0..200 {
        let Value::Int(v) = apply(&*r, Value::Int(i)) else {
            panic!()
        };
        assert!((18..=90).contains(&v));
    }
    let d = spec_on(
        TransformSpec::new("decimal_range").with("min", 1.0).with("max", 100.0),
        "decimal(6,2)",
    );
    let out = apply(&*d, text("12.50"));
    assert!(fits(&out, &col("c", "decimal(6,2)", true)).is_ok(), "{out}");
    assert_eq!(text_of(&out).split_once('.').unwrap().1.len(), 2);
    let n = spec_on(TransformSpec::new("noise").with("relative", 0.1), "decimal(10,2)");
    let out = apply(&*n, text("100.00"));
    let v: f64 = text_of(&out).parse().unwrap();
    assert!((90.0..=110.0).contains(&v) && v != 100.0, "{out}");
    assert_eq!(text_of(&out).split_once('.').unwrap().1.len(), 2);
    let ni = spec_on(TransformSpec::new("noise").with("relative", 0.5), "tinyint");
    let Value::Int(v) = apply(&*ni, Value::Int(120)) else {
        panic!()
    };
    assert!((60..=127).contains(&v));
}

#[test]
fn date_shift_moves_within_the_bound_and_keeps_time_and_order_when_asked() {
    let d = spec_on(TransformSpec::new("date_shift").with("max_days", 10), "date");
    let out = apply(&*d, text("2024-01-31"));
    assert_ne!(out, text("2024-01-31"));
    let day = |s: &str| {
        let (y, m, d): (i64, i64, i64) = (
            s[0..4].parse().unwrap(),
            s[5..7].parse().unwrap(),
            s[8..10].parse().unwrap(),
        );
        // Days since 1970 (same algorithm as the crate, written independently).
        let y2 = if m <= 2 { y - 1 } else { y };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    };
    assert!((day(text_of(&out)) - day("2024-01-31")).abs() <= 10);
    let ts = spec_on(TransformSpec::new("date_shift").with("max_days", 3), "timestamp");
    let out = apply(&*ts, text("2024-01-31 12:34:56.789+00"));
    assert!(text_of(&out).ends_with(" 12:34:56.789+00"), "{out}");
    // keep_order: never inverted, over consecutive days and across knots.
    let ord = spec_on(
        TransformSpec::new("date_shift")
            .with("max_days", 5)
            .with("keep_order", true),
        "date",
    );
    let mut last = String::new();
    let mut date = 19_000i64;
    while date < 19_400 {
        let (y, m, dd) = {
            let z = date + 719_468;
            let era = z.div_euclid(146_097);
            let doe = z - era * 146_097;
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let d = doy - (153 * mp + 2) / 5 + 1;
            let m = if mp < 10 { mp + 3 } else { mp - 9 };
            (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
        };
        let input = format!("{y:04}-{m:02}-{dd:02}");
        let out = apply(&*ord, text(&input));
        let o = text_of(&out).to_string();
        assert!(o >= last, "order inverted at {input}: {o} < {last}");
        assert_ne!(o, input);
        assert!((day(&o) - date).abs() <= 5);
        last = o;
        date += 1;
    }
}

#[test]
fn categorical_picks_from_the_list_or_the_column() {
    let c = spec_on(
        TransformSpec::new("categorical").with("values", vec!["red", "green", "blue"]),
        "text",
    );
    for s in ["a", "b", "c", "red"] {
        let out = apply(&*c, text(s));
        assert!(["red", "green", "blue"].contains(&text_of(&out)));
    }
    assert_ne!(apply(&*c, text("red")), text("red"));
    let spec = TransformSpec::new("categorical").with("from", "column");
    let ctx = BuildContext {
        distinct_values: Some(vec![text("x"), text("y"), Value::Null, text("x")]),
    };
    let from_col = build_with(&spec, &col("c", "text", true), &seed(), &ctx).unwrap();
    assert!(["x", "y"].contains(&text_of(&apply(&*from_col, text("q")))));
    let err = build(&spec, &col("c", "text", true), &seed()).err().unwrap();
    assert!(err.to_string().contains("distinct values"), "{err}");
}

#[test]
fn default_and_constant_follow_the_column() {
    let mut c: Column = col("c", "varchar(10)", false);
    c.default = Some("'n/a'::character varying".into());
    let d = build(&TransformSpec::new("default"), &c, &seed()).unwrap();
    assert_eq!(apply(&*d, text("x")), text("n/a"));
    c.default = Some("now()".into());
    let err = build(&TransformSpec::new("default"), &c, &seed()).err().unwrap();
    assert!(err.to_string().contains("not a literal"), "{err}");
    let k = spec_on(TransformSpec::new("constant").with("value", 7), "int");
    assert_eq!(apply(&*k, Value::Int(1)), Value::Int(7));
    let err = build(
        &TransformSpec::new("constant").with("value", 300),
        &col("c", "tinyint", true),
        &seed(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("out of range"), "{err}");
}

#[test]
fn generate_kinds_are_fresh_each_time() {
    let g = t("generate_uuid", "uuid");
    assert!(!g.deterministic());
    assert_ne!(apply(&*g, text("a")), apply(&*g, text("a")));
    assert!(g.describe().starts_with("generate_uuid"));
}

/// `generate_hash` on integers and `generate_date_shift` with `keep_order` key a function
/// of the input: each run (each `Seed`) draws another function, and within a run it keeps
/// its properties (a permutation of the range; non-decreasing, never the input).
#[test]
fn keyed_generate_kinds_draw_another_function_each_run_and_keep_its_properties() {
    let ints: Vec<Value> = (1..=200).map(Value::Int).collect();
    let id = col("id", "int", false);
    let run = |seed: &Seed| -> Vec<Value> {
        let g = build(
            &TransformSpec::new("generate_hash").with("min", 1).with("max", 1000),
            &id,
            seed,
        )
        .unwrap();
        let out: Vec<Value> = ints.iter().map(|v| apply(&*g, v.clone())).collect();
        // The same input twice in one run: the same output (a function of the run).
        assert_eq!(apply(&*g, Value::Int(7)), out[6]);
        let distinct: std::collections::BTreeSet<String> = out.iter().map(Value::display).collect();
        assert_eq!(distinct.len(), out.len(), "a permutation within a run");
        out
    };
    let (one, two) = (Seed::new("same secret"), Seed::new("same secret"));
    let (a, b) = (run(&one), run(&two));
    assert_ne!(a, b, "two runs with the same seed give other values");
    // `hash` (not generate_) stays the same across runs.
    let h = |seed: &Seed| apply(&*build(&TransformSpec::new("hash"), &id, seed).unwrap(), Value::Int(5));
    assert_eq!(h(&one), h(&two));

    let dates: Vec<String> = (0..120)
        .map(|i| format!("2021-{:02}-{:02}", 1 + i / 28 % 12, 1 + i % 28))
        .collect();
    let shift = |seed: &Seed| -> Vec<String> {
        let spec = TransformSpec::new("generate_date_shift")
            .with("max_days", 30)
            .with("keep_order", true);
        let g = build(&spec, &col("d", "date", true), seed).unwrap();
        let out: Vec<String> = dates
            .iter()
            .map(|d| text_of(&apply(&*g, text(d))).to_string())
            .collect();
        for (i, (x, y)) in dates.iter().zip(&out).enumerate() {
            assert_ne!(x, y, "never the input");
            if i > 0 && dates[i - 1] < *x {
                assert!(
                    out[i - 1] <= *y,
                    "order kept within a run: {} -> {}, {x} -> {y}",
                    dates[i - 1],
                    out[i - 1]
                );
            }
        }
        out
    };
    assert_ne!(shift(&one), shift(&two), "two runs shift otherwise");
}

#[test]
fn errors_name_the_kind_and_the_option() {
    let c = col("c", "text", true);
    let e = |spec: TransformSpec| build(&spec, &c, &seed()).err().unwrap().to_string();
    assert!(e(TransformSpec::new("emial")).starts_with("unknown transformer `emial` (known: passthrough, null,"));
    assert_eq!(
        e(TransformSpec::new("email").with("keep_domian", true)),
        "transformer `email`: unknown option `keep_domian` (valid options: domain, keep_domain, max_length, truncate, unique)"
    );
    assert_eq!(
        e(TransformSpec::new("email").with("keep_domain", "yes")),
        "transformer `email`: option `keep_domain`: expected true or false, found string"
    );
    assert_eq!(
        e(TransformSpec::new("int_range").with("min", 5).with("max", 1)),
        "transformer `int_range`: option `max`: 1 is below min 5"
    );
    let on_int = build(&TransformSpec::new("email"), &col("c", "int", true), &seed())
        .err()
        .unwrap();
    assert_eq!(
        on_int.to_string(),
        "transformer `email` cannot be used on a column of type int: it produces text; use it on char/varchar/text columns"
    );
    let not_null = build(&TransformSpec::new("null"), &col("c", "text", false), &seed())
        .err()
        .unwrap();
    assert!(not_null.to_string().contains("NOT NULL"));
}

#[test]
fn unique_guard_fails_on_the_first_duplicate_with_its_values() {
    let mut g = UniqueGuard::new(vec!["email".into()]);
    g.check(&[text("a@x")]).unwrap();
    g.check(&[Value::Null]).unwrap();
    g.check(&[Value::Null]).unwrap();
    g.check(&[text("b@x")]).unwrap();
    let err = g.check(&[text("a@x")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "duplicate value in unique key (email) after transformation: ('a@x')"
    );
    let mut two = UniqueGuard::new(vec!["a".into(), "b".into()]);
    two.check(&[Value::Int(1), Value::Int(2)]).unwrap();
    two.check(&[Value::Int(2), Value::Int(1)]).unwrap();
    assert!(two.check(&[Value::Int(1), Value::Int(2)]).is_err());
}

#[test]
fn a_key_map_gives_children_the_parent_s_generated_value() {
    let gen = t("generate_uuid", "uuid");
    let mut map = KeyMap::new(2);
    let parents: Vec<Value> = (0..10)
        .map(|i| {
            let old = Value::Int(i);
            map.get_or_insert_with(&old, || apply(&*gen, text("x"))).unwrap()
        })
        .collect();
    for (i, new) in parents.iter().enumerate() {
        assert_eq!(map.get(&Value::Int(i as i64)).unwrap().as_ref(), Some(new));
    }
}
