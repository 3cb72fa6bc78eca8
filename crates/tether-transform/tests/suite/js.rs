//! `js`: user functions with the row readable, deterministic helpers, sandbox limits,
//! and errors that name the line.

use crate::common::*;
use tether_schema::Value;
use tether_transform::{build, RowView, Seed, TransformError, TransformSpec};

fn js(code: &str) -> TransformSpec {
    TransformSpec::new("js").with("code", code)
}

#[test]
fn a_function_sees_the_value_and_the_row() {
    let t = spec_on(js("(value, row) => value.toUpperCase() + '-' + row.country"), "text");
    let cols = vec!["name".to_string(), "country".to_string()];
    let vals = vec![text("ada"), text("UK")];
    let out = t.apply(&text("ada"), &RowView::new(&cols, &vals)).unwrap();
    assert_eq!(out, text("ADA-UK"));
    assert!(t.deterministic());
    assert_eq!(
        t.describe(),
        "js(call_on_null=false, code=\"(value, row) => value.toUpperCase() + '-' + row.country\", \
         deterministic=true, memory_mb=64, timeout_ms=1000)"
    );
}

#[test]
fn results_are_coerced_to_the_column_type_and_checked() {
    let t = spec_on(js("v => v * 2"), "int");
    assert_eq!(apply(&*t, Value::Int(21)), Value::Int(42));
    let t = spec_on(js("v => 'x'.repeat(v)"), "varchar(3)");
    let err = t.apply(&Value::Int(5), &RowView::EMPTY).unwrap_err();
    assert!(err.to_string().contains("5 characters, the column holds 3"), "{err}");
    let t = spec_on(js("v => null"), "text");
    assert_eq!(apply(&*t, text("a")), Value::Null);
    // NULL stays NULL without a call unless asked.
    let t = spec_on(js("v => v.length"), "int");
    assert_eq!(apply(&*t, Value::Null), Value::Null);
    let t = spec_on(
        js("v => v === null ? 'was null' : v").with("call_on_null", true),
        "text",
    );
    assert_eq!(apply(&*t, Value::Null), text("was null"));
}

#[test]
fn tether_hash_is_keyed_and_deterministic_and_math_random_is_disabled() {
    let a = spec_on(js("v => tether.hash(v)"), "text");
    let b = spec_on(js("v => tether.hash(v)"), "text");
    let out = apply(&*a, text("alice"));
    assert_eq!(out, apply(&*b, text("alice")));
    assert_eq!(text_of(&out).len(), 32);
    let slower = spec_on(js("v => tether.hash(v)").with("timeout_ms", 5000), "text");
    assert_eq!(out, apply(&*slower, text("alice")), "limits do not change outputs");
    let other = build(&js("v => tether.hash(v)"), &col("c", "text", true), &Seed::new("other")).unwrap();
    assert_ne!(out, apply(&*other, text("alice")));
    let r = spec_on(js("v => Math.random()"), "text");
    let err = r.apply(&text("a"), &RowView::EMPTY).unwrap_err();
    assert!(err.to_string().contains("Math.random is disabled"), "{err}");
}

#[test]
fn a_syntax_error_names_its_line_at_build_time() {
    let err = build(
        &js("(value, row) => {\n  let x = ;\n  return x;\n}"),
        &col("c", "text", true),
        &seed(),
    )
    .err()
    .unwrap();
    match &err {
        TransformError::JsSyntax { line, .. } => assert_eq!(*line, 2, "{err}"),
        other => panic!("expected a syntax error, got {other}"),
    }
    assert!(
        err.to_string()
            .starts_with("JavaScript transformer: syntax error at line 2:"),
        "{err}"
    );
}

#[test]
fn a_runtime_error_names_its_line() {
    let t = spec_on(js("(value) => {\n  const o = null;\n  return o.field;\n}"), "text");
    let err = t.apply(&text("a"), &RowView::EMPTY).unwrap_err();
    match &err {
        TransformError::JsRuntime { line, message } => {
            assert_eq!(*line, Some(3), "{err}");
            assert!(message.contains("TypeError"), "{message}");
        }
        other => panic!("expected a runtime error, got {other}"),
    }
    let t = spec_on(js("v => { throw new Error('bad value ' + v) }"), "text");
    let err = t.apply(&text("a"), &RowView::EMPTY).unwrap_err();
    assert_eq!(err.to_string(), "JavaScript transformer: bad value a (line 1)");
}

#[test]
fn an_endless_loop_hits_the_time_limit_and_the_engine_keeps_working() {
    let t = spec_on(js("v => { while (true) {} }").with("timeout_ms", 50), "text");
    let err = t.apply(&text("a"), &RowView::EMPTY).unwrap_err();
    assert!(matches!(err, TransformError::JsTimeout { limit_ms: 50 }), "{err}");
    let ok = spec_on(js("v => v + '!'"), "text");
    assert_eq!(apply(&*ok, text("a")), text("a!"));
}

#[test]
fn memory_is_limited() {
    let t = spec_on(
        js("v => { let a = []; while (true) a.push('x'.repeat(1000) + a.length); }")
            .with("memory_mb", 8)
            .with("timeout_ms", 10_000),
        "text",
    );
    let err = t.apply(&text("a"), &RowView::EMPTY).unwrap_err();
    assert!(matches!(err, TransformError::JsMemory { .. }), "{err}");
    let ok = spec_on(js("v => v + '!'"), "text");
    assert_eq!(apply(&*ok, text("a")), text("a!"));
}

#[test]
fn no_file_system_or_network_api_is_reachable() {
    let t = spec_on(
        js("v => [typeof require, typeof std, typeof os, typeof fetch, typeof XMLHttpRequest, typeof process].join(',')"),
        "text",
    );
    assert_eq!(
        apply(&*t, text("a")),
        text("undefined,undefined,undefined,undefined,undefined,undefined")
    );
}

#[test]
fn works_from_several_threads() {
    let t = std::sync::Arc::new(spec_on(js("v => v + v"), "text"));
    let handles: Vec<_> = (0..3)
        .map(|i| {
            let t = t.clone();
            std::thread::spawn(move || apply(&**t, text(&i.to_string())))
        })
        .collect();
    let outs: Vec<Value> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(outs, vec![text("00"), text("11"), text("22")]);
}
