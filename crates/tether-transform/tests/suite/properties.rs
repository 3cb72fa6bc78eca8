//! Property tests: the integer-key permutation is a bijection of its range; every kind
//! is deterministic (a second build with the same seed gives the same outputs); outputs
//! fit their column types.

use std::collections::HashSet;

use crate::common::*;
use proptest::prelude::*;
use tether_schema::Value;
use tether_transform::{build, fits, Key, KeyMap, Permutation, RowView, Seed, TransformSpec, UniqueGuard};

#[test]
fn another_seed_gives_other_outputs_for_every_kind() {
    let kinds = [
        ("hash", "int"),
        ("hash", "varchar(20)"),
        ("email", "text"),
        ("first_name", "text"),
        ("last_name", "text"),
        ("full_name", "text"),
        ("username", "text"),
        ("phone", "text"),
        ("street_address", "text"),
        ("city", "text"),
        ("state", "text"),
        ("zip", "text"),
        ("country", "text"),
        ("company", "text"),
        ("ip", "text"),
        ("credit_card", "text"),
        ("ssn", "text"),
        ("uuid", "uuid"),
        ("lorem", "text"),
        ("scramble", "text"),
        ("noise", "int"),
        ("date_shift", "date"),
    ];
    for (kind, ty) in kinds {
        let column = col("c", ty, true);
        let a = build(&TransformSpec::new(kind), &column, &Seed::new("one")).unwrap();
        let b = build(&TransformSpec::new(kind), &column, &Seed::new("two")).unwrap();
        let differs = (1..40).any(|i| {
            let v = match ty {
                "int" => Value::Int(i * 1000),
                "date" => text(&format!("2020-01-{:02}", i % 28 + 1)),
                _ => text(&format!("Value {i} 42")),
            };
            a.apply(&v, &RowView::EMPTY).unwrap() != b.apply(&v, &RowView::EMPTY).unwrap()
        });
        assert!(differs, "{kind} on {ty} ignores the seed");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn permutation_is_a_bijection_of_small_ranges(min in -300i64..300, len in 1i64..600, secret in ".{0,12}") {
        let key = Key::derive(&Seed::new(&secret), "p");
        let max = min + len - 1;
        let p = Permutation::new(min as i128, max as i128, key);
        let image: HashSet<i128> = (min..=max).map(|x| p.apply(x as i128).unwrap()).collect();
        prop_assert_eq!(image.len() as i64, len);
        prop_assert!(image.iter().all(|y| *y >= min as i128 && *y <= max as i128));
    }

    #[test]
    fn permutation_is_injective_on_samples_of_big_ranges(xs in prop::collection::hash_set(any::<i64>(), 1..400), secret in ".{0,12}") {
        let key = Key::derive(&Seed::new(&secret), "p");
        let p = Permutation::new(i64::MIN as i128, i64::MAX as i128, key);
        let ys: HashSet<i128> = xs.iter().map(|x| p.apply(*x as i128).unwrap()).collect();
        prop_assert_eq!(ys.len(), xs.len());
        for x in &xs {
            let y = p.apply(*x as i128).unwrap();
            prop_assert!(y >= i64::MIN as i128 && y <= i64::MAX as i128);
            prop_assert_eq!(y.signum(), (*x as i128).signum());
        }
        let u = Permutation::new(0, u64::MAX as i128, key);
        let us: HashSet<i128> = xs.iter().map(|x| u.apply(*x as u64 as i128).unwrap()).collect();
        prop_assert_eq!(us.len(), xs.len());
    }

    #[test]
    fn every_kind_is_deterministic_and_fits(input in "[A-Za-z0-9 .@-]{0,40}", n in any::<i32>(), width in 1u32..60) {
        let varchar = format!("varchar({width})");
        let cases: Vec<(TransformSpec, String, Value)> = vec![
            (TransformSpec::new("hash"), varchar.clone(), text(&input)),
            (TransformSpec::new("hash"), "int".into(), Value::Int(n as i64)),
            (TransformSpec::new("hash"), "smallint".into(), Value::Int((n % 32768) as i64)),
            (TransformSpec::new("email"), varchar.clone(), text(&input)),
            (TransformSpec::new("email").with("keep_domain", true), "varchar(255)".into(), text(&input)),
            (TransformSpec::new("first_name"), varchar.clone(), text(&input)),
            (TransformSpec::new("last_name"), varchar.clone(), text(&input)),
            (TransformSpec::new("full_name"), varchar.clone(), text(&input)),
            (TransformSpec::new("username"), varchar.clone(), text(&input)),
            (TransformSpec::new("phone"), varchar.clone(), text(&input)),
            (TransformSpec::new("street_address"), varchar.clone(), text(&input)),
            (TransformSpec::new("city"), varchar.clone(), text(&input)),
            (TransformSpec::new("state"), varchar.clone(), text(&input)),
            (TransformSpec::new("zip"), varchar.clone(), text(&input)),
            (TransformSpec::new("country"), varchar.clone(), text(&input)),
            (TransformSpec::new("company"), varchar.clone(), text(&input)),
            (TransformSpec::new("ip"), varchar.clone(), text(&input)),
            (TransformSpec::new("credit_card"), varchar.clone(), text(&input)),
            (TransformSpec::new("ssn"), varchar.clone(), text(&input)),
            (TransformSpec::new("uuid"), "uuid".into(), text(&input)),
            (TransformSpec::new("lorem"), varchar.clone(), text(&input)),
            (TransformSpec::new("scramble"), varchar.clone(), text(&input[..input.len().min(width as usize)])),
            (TransformSpec::new("scramble"), "int".into(), Value::Int((n / 10) as i64)),
            (TransformSpec::new("int_range").with("min", -5).with("max", 5), "tinyint".into(), Value::Int(1)),
            (TransformSpec::new("decimal_range").with("min", 0).with("max", 999.99), "decimal(5,2)".into(), text("1.00")),
            (TransformSpec::new("noise"), "int".into(), Value::Int((n / 2) as i64)),
            (TransformSpec::new("noise"), "double".into(), Value::Float(n as f64 / 7.0)),
            (TransformSpec::new("date_shift"), "date".into(), text(&format!("{:04}-{:02}-{:02}", 1900 + (n.unsigned_abs() % 200), 1 + n.unsigned_abs() % 12, 1 + n.unsigned_abs() % 28))),
            (TransformSpec::new("date_shift").with("keep_order", true), "timestamp".into(), text(&format!("2020-02-{:02} 10:{:02}:00", 1 + n.unsigned_abs() % 28, n.unsigned_abs() % 60))),
            (TransformSpec::new("categorical").with("values", vec!["a", "b"]), varchar.clone(), text(&input)),
            (TransformSpec::new("js").with("code", "v => tether.hash(String(v)).slice(0, 1)"), varchar.clone(), text(&input)),
        ];
        for (spec, ty, value) in cases {
            let column = col("c", &ty, true);
            let a = build(&spec, &column, &Seed::new("p")).unwrap();
            let b = build(&spec, &column, &Seed::new("p")).unwrap();
            let out = a.apply(&value, &RowView::EMPTY);
            let again = b.apply(&value, &RowView::EMPTY);
            match (out, again) {
                (Ok(x), Ok(y)) => {
                    prop_assert_eq!(&x, &y, "{} on {} not deterministic", spec, ty);
                    prop_assert!(fits(&x, &column).is_ok(), "{} on {}: {:?} does not fit", spec, ty, x);
                    prop_assert!(a.deterministic());
                    // No leak by chance: only values the kind keeps by design may repeat.
                    let kept_by_design = spec.kind == "js"
                        || matches!(&value, Value::Int(0))
                        || matches!(&value, Value::Float(f) if *f == 0.0)
                        || matches!(&value, Value::Text(s) if s.is_empty() || (spec.kind == "scramble" && !s.chars().any(|c| c.is_ascii_alphanumeric())));
                    prop_assert!(kept_by_design || x != value, "{} on {} leaked {:?}", spec, ty, value);
                }
                (Err(e), _) => prop_assert!(false, "{} on {} failed on {:?}: {}", spec, ty, value, e),
                (_, Err(e)) => prop_assert!(false, "{}: {}", spec, e),
            }
        }
    }

    #[test]
    fn no_kind_panics_on_any_text(input in any::<String>()) {
        let kinds = [
            "hash", "email", "full_name", "username", "phone", "credit_card", "ssn", "lorem", "scramble",
            "noise", "date_shift", "uuid", "ip", "zip",
        ];
        for kind in kinds {
            for ty in ["varchar(40)", "text"] {
                let column = col("c", ty, true);
                let t = build(&TransformSpec::new(kind), &column, &Seed::new("p")).unwrap();
                if let Ok(out) = t.apply(&text(&input), &RowView::EMPTY) {
                    prop_assert!(fits(&out, &column).is_ok(), "{} on {}: {:?}", kind, ty, out);
                }
            }
        }
        let keep = build(&TransformSpec::new("phone").with("format", "keep"), &col("c", "text", true), &Seed::new("p")).unwrap();
        let _ = keep.apply(&text(&input), &RowView::EMPTY);
        let email = build(&TransformSpec::new("email").with("keep_domain", true), &col("c", "text", true), &Seed::new("p")).unwrap();
        let _ = email.apply(&text(&input), &RowView::EMPTY);
    }

    #[test]
    fn key_map_agrees_with_a_plain_map(ops in prop::collection::vec((0i64..300, any::<u32>()), 1..800), bound in 1usize..50) {
        let mut map = KeyMap::new(bound);
        let mut model = std::collections::HashMap::new();
        for (old, new) in ops {
            let got = map.get_or_insert_with(&Value::Int(old), || Value::Int(new as i64)).unwrap();
            let want = model.entry(old).or_insert(Value::Int(new as i64)).clone();
            prop_assert_eq!(got, want);
        }
        prop_assert_eq!(map.len(), model.len());
        for (old, new) in &model {
            prop_assert_eq!(map.get(&Value::Int(*old)).unwrap(), Some(new.clone()));
        }
    }
}

/// A text key hashed into too small a space collides; the guard stops at the first
/// duplicate with its value instead of letting it through.
#[test]
fn a_collision_on_a_text_key_is_caught_with_its_value() {
    let column = col("code", "varchar(2)", false);
    let t = build(&TransformSpec::new("hash"), &column, &Seed::new("p")).unwrap();
    assert!(!t.injective());
    let mut guard = UniqueGuard::new(vec!["code".into()]);
    let err = (0..2000)
        .map(|i| t.apply(&text(&format!("k{i}")), &RowView::EMPTY).unwrap())
        .find_map(|out| guard.check(std::slice::from_ref(&out)).err().map(|e| (out, e)));
    let (out, err) = err.expect("256 possible outputs cannot hold 2000 keys");
    assert_eq!(
        err.to_string(),
        format!("duplicate value in unique key (code) after transformation: ({out})")
    );
}
