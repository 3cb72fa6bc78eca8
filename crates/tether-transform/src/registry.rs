//! The transformer registry: [`build`] turns a [`TransformSpec`] into a [`Transformer`]
//! for one column, checking the kind, every option and the column's type.
//!
//! Most kinds are *kernels*: functions of the input and a stream of numbers seeded from
//! a keyed hash of the input (deterministic) or from fresh randomness (`generate_*`).
//! A shared wrapper (`kernel.rs`) handles what they have in common: nulls stay null, an
//! output equal to its input is redrawn (so transformed columns do not leak values by
//! chance), text longer than the column is truncated (or refused with `truncate =
//! false`), and every output is checked against the column type.

use tether_schema::{Column, Value};

use crate::error::TransformError;
use crate::fit::{coerce, Fit};
use crate::kernel::{toml_to_value, Kernel, KernelTransformer};
use crate::keyed::{Key, Seed};
use crate::options::Opts;
use crate::spec::TransformSpec;
use crate::{address, dates, js, numbers, person, text, RowView, Transformer};

type KernelBuilder = fn(&mut Opts, &Column) -> Result<Box<dyn Kernel>, TransformError>;

struct KindInfo {
    name: &'static str,
    build: KernelBuilder,
    /// Text output: `max_length`/`truncate` apply.
    text: bool,
}

const KERNELS: &[KindInfo] = &[
    KindInfo {
        name: "hash",
        build: text::build_hash,
        text: true,
    },
    KindInfo {
        name: "email",
        build: person::build_email,
        text: true,
    },
    KindInfo {
        name: "first_name",
        build: person::build_first_name,
        text: true,
    },
    KindInfo {
        name: "last_name",
        build: person::build_last_name,
        text: true,
    },
    KindInfo {
        name: "full_name",
        build: person::build_full_name,
        text: true,
    },
    KindInfo {
        name: "username",
        build: person::build_username,
        text: true,
    },
    KindInfo {
        name: "phone",
        build: person::build_phone,
        text: true,
    },
    KindInfo {
        name: "ssn",
        build: person::build_ssn,
        text: true,
    },
    KindInfo {
        name: "credit_card",
        build: person::build_credit_card,
        text: true,
    },
    KindInfo {
        name: "street_address",
        build: address::build_street,
        text: true,
    },
    KindInfo {
        name: "city",
        build: address::build_city,
        text: true,
    },
    KindInfo {
        name: "state",
        build: address::build_state,
        text: true,
    },
    KindInfo {
        name: "zip",
        build: address::build_zip,
        text: true,
    },
    KindInfo {
        name: "country",
        build: address::build_country,
        text: true,
    },
    KindInfo {
        name: "company",
        build: address::build_company,
        text: true,
    },
    KindInfo {
        name: "ip",
        build: address::build_ip,
        text: true,
    },
    KindInfo {
        name: "uuid",
        build: text::build_uuid,
        text: false,
    },
    KindInfo {
        name: "lorem",
        build: text::build_lorem,
        text: true,
    },
    KindInfo {
        name: "scramble",
        build: text::build_scramble,
        text: true,
    },
    KindInfo {
        name: "categorical",
        build: text::build_categorical,
        text: true,
    },
    KindInfo {
        name: "int_range",
        build: numbers::build_int_range,
        text: false,
    },
    KindInfo {
        name: "decimal_range",
        build: numbers::build_decimal_range,
        text: false,
    },
    KindInfo {
        name: "noise",
        build: numbers::build_noise,
        text: false,
    },
    KindInfo {
        name: "date_shift",
        build: dates::build_date_shift,
        text: false,
    },
];

const SIMPLE: &[&str] = &["passthrough", "null", "default", "constant", "js"];

/// Other spellings accepted for a kind; the canonical name is used in descriptions.
fn alias(kind: &str) -> &str {
    match kind {
        "postcode" | "zip_code" | "postal_code" => "zip",
        "national_id" => "ssn",
        "ip_address" => "ip",
        "text" | "free_text" => "lorem",
        "phone_number" => "phone",
        "address" => "street_address",
        "name" => "full_name",
        other => other,
    }
}

/// Every kind `build` accepts (canonical names; `generate_` + a kernel kind too).
pub fn known_kinds() -> Vec<String> {
    let mut all: Vec<String> = SIMPLE.iter().map(|s| s.to_string()).collect();
    all.extend(KERNELS.iter().map(|k| k.name.to_string()));
    all.extend(KERNELS.iter().map(|k| format!("generate_{}", k.name)));
    all
}

/// One line on what a kind writes and its main options (for pickers such as
/// `tether ui`); `generate_*` kinds get their base kind's line. TRANSFORMERS.md has
/// the details.
pub fn kind_summary(kind: &str) -> Option<&'static str> {
    let base = kind.strip_prefix("generate_").unwrap_or(kind);
    Some(match alias(base) {
        "passthrough" => "the value unchanged; reason = \"...\" marks a personal column as reviewed",
        "null" => "NULL on every row",
        "default" => "the column's default on every row",
        "constant" => "a fixed value: value = ...",
        "js" => "a JavaScript function (value, row) => new value: code = \"...\"",
        "hash" => "keyed hash keeping type and length; integers: a keyed permutation (keys stay unique)",
        "email" => "an email address; keep_domain, domain, unique",
        "first_name" => "a first name",
        "last_name" => "a last name",
        "full_name" => "First Last",
        "username" => "a user name; unique",
        "phone" => "a phone number; format = e164 | national | digits | keep",
        "ssn" => "a US social security number",
        "credit_card" => "a Luhn-valid card number; brand, separator",
        "street_address" => "a street address",
        "city" => "a city name",
        "state" => "a US state; abbr",
        "zip" => "a postcode; format = us | us_plus4 | uk | digits",
        "country" => "a country; code",
        "company" => "a company name",
        "ip" => "an IP address; version = 4 | 6",
        "uuid" => "a keyed UUID",
        "lorem" => "lorem-ipsum words of the input's length",
        "scramble" => "same shape: letters and digits replaced, punctuation kept",
        "categorical" => "one of values = [...], or from = \"column\"",
        "int_range" => "an integer in min..max",
        "decimal_range" => "a number in min..max; scale",
        "noise" => "the input times 1 +/- relative (0.1)",
        "date_shift" => "dates moved by up to max_days (30); keep_order",
        _ => return None,
    })
}

/// False for the `generate_*` kinds and for `js` declared `deterministic = false`:
/// their output differs between runs. Whether a referenced key needs a
/// [`crate::KeyMap`] (these, and kinds reading more than the value) is [`key_map_reason`].
pub fn is_deterministic_spec(spec: &TransformSpec) -> bool {
    if spec.kind.starts_with("generate_") {
        return false;
    }
    !(spec.kind == "js" && spec.options.get("deterministic") == Some(&toml::Value::Boolean(false)))
}

/// Why `spec` on `column` is not a function of the key value alone (so a referenced key
/// reaches its children through a [`crate::KeyMap`]), or `None`. Also validates the spec.
pub fn key_map_reason(spec: &TransformSpec, column: &Column) -> Result<Option<&'static str>, TransformError> {
    let ctx = BuildContext {
        distinct_values: Some(Vec::new()),
    };
    build_inner(spec, column, &Seed::new("canonical"), &ctx).map(|(t, _)| t.key_map_reason())
}

/// Why `spec` (canonical, as set on a referenced column of type `parent`) would not give
/// a column of type `child` referencing it the parent's outputs for equal keys, or
/// `None`. The draw is keyed by the canonical value (see [`crate::canonical`]), so what
/// is left is a kind whose output follows the spelling of its input: `noise` keeps the
/// digits after the point of each value unless `scale` fixes them (the canonical spec
/// of an integer or a decimal column of declared scale does), `scramble` keeps the
/// value's shape.
pub(crate) fn differs_on_child(spec: &TransformSpec, parent: &Column, child: &Column) -> Option<String> {
    use tether_schema::DataType;
    let (p, c) = (&parent.normalized_type, &child.normalized_type);
    let same_class = std::mem::discriminant(p) == std::mem::discriminant(c) || (p.is_text() && c.is_text());
    match alias(&spec.kind) {
        "noise" if !spec.options.contains_key("scale") => match p {
            DataType::Decimal { .. } => Some(format!(
                "noise keeps each value's own digits after the point on {p}, which has no declared scale, so \
                 equal keys written with other digits (1.5, 1.50) get other values; set `scale` on the parent"
            )),
            _ if !same_class => Some(format!(
                "noise on {p} keeps each value's own digits, which {c} reads with other digits; set `scale` on \
                 the parent"
            )),
            _ => None,
        },
        "scramble" if !(p == c || (p.is_text() && c.is_text())) => Some(format!(
            "scramble keeps the shape of each value as read, and {p} and {c} spell equal values differently"
        )),
        _ => None,
    }
}

/// Extra inputs some kinds need from the integration.
#[derive(Debug, Default, Clone)]
pub struct BuildContext {
    /// The column's distinct source values, for `categorical` with `from = "column"`.
    pub distinct_values: Option<Vec<Value>>,
}

/// Builds the transformer `spec` describes for `column`, keyed by `seed`.
pub fn build(spec: &TransformSpec, column: &Column, seed: &Seed) -> Result<Box<dyn Transformer>, TransformError> {
    build_with(spec, column, seed, &BuildContext::default())
}

/// [`build`] with extra inputs (the column's distinct values for `categorical`).
pub fn build_with(
    spec: &TransformSpec,
    column: &Column,
    seed: &Seed,
    ctx: &BuildContext,
) -> Result<Box<dyn Transformer>, TransformError> {
    build_inner(spec, column, seed, ctx).map(|(t, _)| t)
}

/// [`build_with`] for a column whose values key the draw as those of another type:
/// an FK child inheriting its transformer keys it by its root column's type
/// (`key_type`), so a `varchar` child's `'ab    '` (the spelling of a PostgreSQL
/// `char(6)` parent it was given) is the parent's `'ab'` and gets the parent's output.
/// Output limits still come from `column`.
pub fn build_keyed_as(
    spec: &TransformSpec,
    column: &Column,
    key_type: &tether_schema::DataType,
    seed: &Seed,
    ctx: &BuildContext,
) -> Result<Box<dyn Transformer>, TransformError> {
    build_keyed(spec, column, Some(key_type), seed, ctx).map(|(t, _)| t)
}

/// The one value `spec` writes on every row of `column`, whatever the row holds
/// (`constant`, `default`): on every column of a key it gives each row the same key.
/// `None` for transformers whose output depends on the input, for `null` (NULLs never
/// collide in a unique key) and for a spec that does not build.
pub fn same_on_every_row(spec: &TransformSpec, column: &Column) -> Option<Value> {
    if !matches!(alias(&spec.kind), "constant" | "default") {
        return None;
    }
    let ctx = BuildContext::default();
    let (t, _) = build_inner(spec, column, &Seed::new("canonical"), &ctx).ok()?;
    t.same_on_every_row().filter(|v| !v.is_null()).cloned()
}

/// The spec with every option spelled out as `build` would use it on `column`
/// (defaults and limits taken from the column type filled in). Building the canonical
/// spec on another column gives the same outputs wherever the values fit: this is what
/// FK inheritance hands to child columns. Also validates the spec (plan-time errors).
pub fn canonical_spec(spec: &TransformSpec, column: &Column) -> Result<TransformSpec, TransformError> {
    let ctx = BuildContext {
        distinct_values: Some(Vec::new()),
    };
    build_inner(spec, column, &Seed::new("canonical"), &ctx).map(|(_, s)| s)
}

fn build_inner(
    spec: &TransformSpec,
    column: &Column,
    seed: &Seed,
    ctx: &BuildContext,
) -> Result<(Box<dyn Transformer>, TransformSpec), TransformError> {
    build_keyed(spec, column, None, seed, ctx)
}

/// Whether `column` takes the text kinds' options (`max_length`, `truncate`): a text
/// column, or a PostgreSQL `citext` (an extension type Tether has no neutral name for,
/// which holds text and can reference a `text` key).
fn holds_text(column: &Column) -> bool {
    let citext = |t: &str| t == "citext" || t.ends_with(".citext");
    match &column.normalized_type {
        t if t.is_text() => true,
        tether_schema::DataType::Other(t) => citext(t) || citext(&column.engine_type.to_ascii_lowercase()),
        _ => false,
    }
}

fn build_keyed(
    spec: &TransformSpec,
    column: &Column,
    key_type: Option<&tether_schema::DataType>,
    seed: &Seed,
    ctx: &BuildContext,
) -> Result<(Box<dyn Transformer>, TransformSpec), TransformError> {
    // A generated column is built like any other: where its values are written (a copy
    // on another engine, which makes it a plain column) is the caller's to decide.
    let (base, random) = match spec.kind.strip_prefix("generate_") {
        Some(rest) => (alias(rest), true),
        None => (alias(&spec.kind), false),
    };
    let mut o = Opts::new(&spec.kind, &spec.options);
    let simple: Option<Box<dyn Transformer>> = match (base, random) {
        ("passthrough", false) => {
            // Why copying the value unchanged is fine: marks a personal column as
            // reviewed for `privacy = "strict"` jobs.
            o.string("reason")?;
            Some(Box::new(Passthrough))
        }
        ("null", false) => {
            if !column.nullable {
                return Err(TransformError::not_for_type(
                    "null",
                    &column.normalized_type,
                    "the column is NOT NULL",
                ));
            }
            Some(Box::new(Constant {
                value: Value::Null,
                description: "null".into(),
                key_map_reason: None,
            }))
        }
        ("default", false) => Some(Box::new(Constant {
            value: default_value(column)?,
            description: "default".into(),
            key_map_reason: Some("it writes each column's own default"),
        })),
        ("constant", false) => {
            let Some(raw) = o.value("value") else {
                return Err(o.bad(
                    "value",
                    "required: the value to write, e.g. { kind = \"constant\", value = \"n/a\" }",
                ));
            };
            let value = coerce(toml_to_value(&raw, &o)?, &column.normalized_type)?;
            Fit::of(column).check(&value)?;
            o.finish()?;
            let canonical = TransformSpec {
                kind: "constant".into(),
                options: o.canonical.clone(),
            };
            Some(Box::new(Constant {
                value,
                description: canonical.to_string(),
                key_map_reason: None,
            }))
        }
        ("js", false) => {
            let (t, canonical) = js::build(&mut o, column, seed)?;
            return Ok((t, canonical));
        }
        _ => None,
    };
    if let Some(t) = simple {
        o.finish()?;
        let canonical = TransformSpec {
            kind: base.to_string(),
            options: o.canonical,
        };
        return Ok((t, canonical));
    }

    let Some(info) = KERNELS.iter().find(|k| k.name == base) else {
        return Err(TransformError::UnknownKind {
            kind: spec.kind.clone(),
            known: known_kinds().join(", "),
        });
    };
    if crate::fit::is_array(column) {
        return Err(TransformError::not_for_type(
            &spec.kind,
            &tether_schema::DataType::Other(column.engine_type.clone()),
            "the column holds arrays and the kind writes one value; use `null`, a `constant` array literal \
             (`value = \"{}\"`), `js`, or mark it reviewed with { kind = \"passthrough\", reason = \"...\" }",
        ));
    }
    let mut kernel = if base == "categorical" {
        text::build_categorical_with(&mut o, column, ctx.distinct_values.as_deref())?
    } else {
        (info.build)(&mut o, column)?
    };
    let kind = if random {
        format!("generate_{}", info.name)
    } else {
        info.name.to_string()
    };
    // The key depends on the kind and its own options, not on the column's length limit,
    // so the same value gets the same output in columns of different widths.
    let key_context = TransformSpec {
        kind: kind.clone(),
        options: o.canonical.clone(),
    }
    .to_string();
    let mut max_len = None;
    let mut truncate = true;
    if info.text && holds_text(column) {
        let limit = o.int_or("max_length", column.normalized_type.max_chars().unwrap_or(0) as i64)?;
        if limit < 0 {
            return Err(o.bad("max_length", "must be 0 (no limit) or more"));
        }
        max_len = (limit > 0).then_some(limit as usize);
        truncate = o.bool("truncate", true)?;
    }
    o.finish()?;
    // generate_*: kernels that key a function of the input (not only the stream they
    // draw from) get a key of this run, so their outputs are fresh on every run too.
    let key = if random {
        Key::derive_for_run(seed, &key_context)
    } else {
        Key::derive(seed, &key_context)
    };
    kernel.set_key(key);
    let canonical = TransformSpec {
        kind,
        options: o.canonical,
    };
    let description = canonical.to_string();
    let t = KernelTransformer {
        reroll: kernel.reroll_on_identity(),
        injective: kernel.injective() && !random,
        kernel,
        key,
        random,
        description,
        max_len,
        truncate,
        fit: Fit::of(column),
        canon: crate::canonical::Canon::of(key_type.unwrap_or(&column.normalized_type)),
    };
    Ok((Box::new(t), canonical))
}

/// The column's default, when it is a literal (`0`, `'n/a'`, `'x'::character varying`, `NULL`).
fn default_value(column: &Column) -> Result<Value, TransformError> {
    let ty = &column.normalized_type;
    let Some(expr) = column.default.as_deref() else {
        return if column.nullable {
            Ok(Value::Null)
        } else {
            Err(TransformError::not_for_type(
                "default",
                ty,
                "the column is NOT NULL and has no default",
            ))
        };
    };
    let mut e = expr.trim();
    while e.starts_with('(') && e.ends_with(')') {
        e = e[1..e.len() - 1].trim();
    }
    // PostgreSQL casts: 'abc'::character varying, 0::numeric
    if let Some(i) = e.rfind("::") {
        if !e[i..].contains('\'') {
            e = e[..i].trim();
        }
    }
    let literal = if e.eq_ignore_ascii_case("null") {
        Value::Null
    } else if e.eq_ignore_ascii_case("true") {
        Value::Bool(true)
    } else if e.eq_ignore_ascii_case("false") {
        Value::Bool(false)
    } else if e.len() >= 2 && e.starts_with('\'') && e.ends_with('\'') {
        Value::Text(e[1..e.len() - 1].replace("''", "'"))
    } else if let Ok(i) = e.parse::<i64>() {
        Value::Int(i)
    } else if e.parse::<f64>().is_ok() {
        Value::Text(e.to_string())
    } else {
        return Err(TransformError::not_for_type(
            "default",
            ty,
            format!("the default `{expr}` is an expression, not a literal value; use `constant`"),
        ));
    };
    let value = coerce(literal, ty)?;
    Fit::of(column).check(&value)?;
    Ok(value)
}

struct Passthrough;

impl Transformer for Passthrough {
    fn apply(&self, value: &Value, _row: &RowView<'_>) -> Result<Value, TransformError> {
        Ok(value.clone())
    }
    fn deterministic(&self) -> bool {
        true
    }
    fn describe(&self) -> String {
        "passthrough".into()
    }
    fn injective(&self) -> bool {
        true
    }
}

/// `null`, `default` and `constant`: the same value for every row, nulls included.
struct Constant {
    value: Value,
    description: String,
    /// `default`: the value comes from the column, not the spec.
    key_map_reason: Option<&'static str>,
}

impl Transformer for Constant {
    fn apply(&self, _value: &Value, _row: &RowView<'_>) -> Result<Value, TransformError> {
        Ok(self.value.clone())
    }
    fn deterministic(&self) -> bool {
        true
    }
    fn describe(&self) -> String {
        self.description.clone()
    }
    fn injective(&self) -> bool {
        false
    }
    fn key_map_reason(&self) -> Option<&'static str> {
        self.key_map_reason
    }
    fn same_on_every_row(&self) -> Option<&Value> {
        Some(&self.value)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kind_has_a_summary() {
        for kind in super::known_kinds() {
            assert!(super::kind_summary(&kind).is_some(), "{kind}");
        }
        assert_eq!(super::kind_summary("postcode"), super::kind_summary("zip"));
        assert_eq!(super::kind_summary("no_such_kind"), None);
    }
}
