//! `js`: a user function `(value, row) => newValue` run in an embedded QuickJS engine.
//!
//! Sandbox: QuickJS without its `std`/`os` modules has no file system, network, timers
//! or process access; each call runs under a time limit (an interrupt handler checks a
//! deadline), each thread's runtime under a memory and a stack limit. `Math.random` is
//! replaced by a function that throws: use `tether.hash(text)` (a hex string) or
//! `tether.random(text)` (a number in [0, 1)), both keyed by the job's seed without
//! exposing it, so results stay deterministic.
//!
//! The row is given only to a function declaring a second parameter or naming
//! `arguments` ([`reads_row`]); such a function, or one declared `deterministic =
//! false`, is not a function of the value alone, so on a referenced key its children
//! take its results from a key map ([`crate::Transformer::key_map_reason`]).
//!
//! One runtime and context per thread, created on first use; each transformer's
//! function is compiled once per thread and reused. The code is compiled on the
//! building thread at build time, so syntax errors surface before any row is read.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rquickjs::context::EvalOptions;
use rquickjs::{Context, Ctx, Function, Object, Persistent, Runtime};
use tether_schema::{Column, DataType, Value};

use crate::error::TransformError;
use crate::fit::{coerce, Fit};
use crate::keyed::{Key, Seed};
use crate::options::Opts;
use crate::spec::TransformSpec;
use crate::{RowView, Transformer};

const FILE: &str = "transform.js";
const STACK_LIMIT: usize = 1 << 20;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

pub(crate) struct JsTransformer {
    id: u64,
    code: String,
    key: Key,
    timeout: Duration,
    memory: usize,
    deterministic: bool,
    /// The function is given its row (see [`reads_row`]).
    reads_row: bool,
    call_on_null: bool,
    description: String,
    ty: DataType,
    fit: Fit,
}

pub(crate) fn build(
    o: &mut Opts,
    column: &Column,
    seed: &Seed,
) -> Result<(Box<dyn Transformer>, TransformSpec), TransformError> {
    let Some(code) = o.string("code")? else {
        return Err(o.bad(
            "code",
            "required: a function, e.g. code = \"(value, row) => value.toUpperCase()\"",
        ));
    };
    let timeout_ms = o.int_or("timeout_ms", 1000)?;
    if !(1..=600_000).contains(&timeout_ms) {
        return Err(o.bad("timeout_ms", "must be 1 to 600000"));
    }
    let memory_mb = o.int_or("memory_mb", 64)?;
    if !(1..=4096).contains(&memory_mb) {
        return Err(o.bad("memory_mb", "must be 1 to 4096"));
    }
    let deterministic = o.bool("deterministic", true)?;
    let call_on_null = o.bool("call_on_null", false)?;
    o.finish()?;
    let canonical = TransformSpec {
        kind: "js".into(),
        options: o.canonical.clone(),
    };
    let mut t = JsTransformer {
        id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        // Limits are not part of the key: raising a time limit does not change outputs.
        key: Key::derive(seed, &format!("js(code={})", toml::Value::String(code.clone()))),
        timeout: Duration::from_millis(timeout_ms as u64),
        memory: (memory_mb as usize) << 20,
        deterministic,
        reads_row: false,
        call_on_null,
        code,
        description: canonical.to_string(),
        ty: column.normalized_type.clone(),
        fit: Fit::of(column),
    };
    t.reads_row = with_engine(|engine| engine.function(&t).map(|c| c.wants_row))?;
    Ok((Box::new(t), canonical))
}

struct Compiled {
    function: Persistent<Function<'static>>,
    wants_row: bool,
}

/// Whether a function is given its row: when it declares a second parameter
/// (`length >= 2`: `(value, row) => ...`) or its code names `arguments`. Any other
/// function is called with `undefined` for the row, so it cannot depend on the row
/// whatever it does (a default or rest parameter, say): the classification is sound by
/// construction, since what the function may read is what it is given.
fn reads_row(arity: i32, code: &str) -> bool {
    arity >= 2 || names_arguments(code)
}

/// True if `arguments` appears in `code` as a whole word (strings and comments included:
/// erring towards "reads its row" only costs a key map).
fn names_arguments(code: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    code.match_indices("arguments").any(|(at, m)| {
        let before = code[..at].chars().next_back().is_none_or(|c| !word(c));
        let after = code[at + m.len()..].chars().next().is_none_or(|c| !word(c));
        before && after
    })
}

/// A thread's QuickJS runtime. Field order matters: compiled functions are dropped
/// before the context, the context before the runtime.
struct Engine {
    functions: RefCell<HashMap<u64, Rc<Compiled>>>,
    context: Context,
    runtime: Runtime,
    deadline: Rc<Cell<Option<Instant>>>,
    memory: Cell<usize>,
}

thread_local! {
    static ENGINE: RefCell<Option<Rc<Engine>>> = const { RefCell::new(None) };
}

fn engine_error(e: rquickjs::Error) -> TransformError {
    TransformError::JsRuntime {
        line: None,
        message: format!("engine: {e}"),
    }
}

fn with_engine<R>(f: impl FnOnce(&Engine) -> Result<R, TransformError>) -> Result<R, TransformError> {
    let engine = ENGINE.with(|cell| -> Result<Rc<Engine>, TransformError> {
        if let Some(e) = cell.borrow().as_ref() {
            return Ok(e.clone());
        }
        let e = Rc::new(Engine::new()?);
        *cell.borrow_mut() = Some(e.clone());
        Ok(e)
    })?;
    f(&engine)
}

/// The line in the user's code an error points at, from the exception's stack.
fn line_in_stack(stack: &str) -> Option<u32> {
    let at = stack.find(FILE)? + FILE.len();
    let rest = stack[at..].strip_prefix(':')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Message and line of the pending exception. QuickJS throws `null` when it cannot
/// even allocate the "out of memory" error: reported as out of memory.
fn exception(ctx: &Ctx<'_>) -> (String, Option<u32>) {
    let caught = ctx.catch();
    if caught.is_null() {
        return ("out of memory".into(), None);
    }
    if let Some(ex) = caught.as_exception() {
        let message = ex.message().unwrap_or_default();
        let name: Option<String> = ex.get("name").ok();
        let stack = ex.stack().unwrap_or_default();
        let line = line_in_stack(&stack).or_else(|| ex.get::<_, u32>("lineNumber").ok());
        let message = match name {
            Some(n) if !n.is_empty() && n != "Error" => format!("{n}: {message}"),
            _ => message,
        };
        return (message, line);
    }
    let text = caught
        .get::<rquickjs::Coerced<String>>()
        .map(|c| c.0)
        .unwrap_or_else(|_| "a non-Error value was thrown".into());
    (format!("uncaught {text}"), None)
}

impl Engine {
    fn new() -> Result<Engine, TransformError> {
        let runtime = Runtime::new().map_err(engine_error)?;
        runtime.set_memory_limit(64 << 20);
        runtime.set_max_stack_size(STACK_LIMIT);
        let deadline: Rc<Cell<Option<Instant>>> = Rc::new(Cell::new(None));
        let d = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || d.get().is_some_and(|t| Instant::now() > t))));
        let context = Context::full(&runtime).map_err(engine_error)?;
        context.with(|ctx| {
            ctx.eval::<(), _>(
                "Math.random = function () { throw new Error('Math.random is disabled in Tether transformers: \
                 use tether.random(text) or tether.hash(text), which are deterministic'); };",
            )
            .map_err(engine_error)
        })?;
        Ok(Engine {
            functions: RefCell::new(HashMap::new()),
            context,
            runtime,
            deadline,
            memory: Cell::new(64 << 20),
        })
    }

    fn function(&self, t: &JsTransformer) -> Result<Rc<Compiled>, TransformError> {
        if let Some(c) = self.functions.borrow().get(&t.id) {
            return Ok(c.clone());
        }
        if t.memory > self.memory.get() {
            self.memory.set(t.memory);
            self.runtime.set_memory_limit(t.memory);
        }
        let compiled = Rc::new(self.compile(t)?);
        self.functions.borrow_mut().insert(t.id, compiled.clone());
        Ok(compiled)
    }

    fn compile(&self, t: &JsTransformer) -> Result<Compiled, TransformError> {
        let key = t.key;
        self.context.with(|ctx| {
            // The user's first line stays line 1.
            let source =
                format!("(function (tether) {{ 'use strict'; return (\n{}\n); }})", t.code).replacen("\n", "", 1);
            let mut options = EvalOptions::default();
            options.filename = Some(FILE.into());
            options.strict = true;
            let factory: Function = match ctx.eval_with_options(source, options) {
                Ok(f) => f,
                Err(rquickjs::Error::Exception) => {
                    let (message, line) = exception(&ctx);
                    // An error past the end (a missing `)`, say) is reported on the last line.
                    let last = t.code.lines().count().max(1) as u32;
                    return Err(TransformError::JsSyntax {
                        line: line.unwrap_or(1).clamp(1, last),
                        message: message.strip_prefix("SyntaxError: ").unwrap_or(&message).to_string(),
                    });
                }
                Err(e) => return Err(engine_error(e)),
            };
            let helpers = Object::new(ctx.clone()).map_err(engine_error)?;
            let hash = Function::new(ctx.clone(), move |text: rquickjs::Coerced<String>| -> String {
                format!("{:032x}", key.hash128(text.0.as_bytes()))
            })
            .map_err(engine_error)?;
            let random = Function::new(ctx.clone(), move |text: rquickjs::Coerced<String>| -> f64 {
                (key.hash128(text.0.as_bytes()) >> 75) as f64 / (1u64 << 53) as f64
            })
            .map_err(engine_error)?;
            helpers.set("hash", hash).map_err(engine_error)?;
            helpers.set("random", random).map_err(engine_error)?;
            let made: rquickjs::Value = match factory.call((helpers,)) {
                Ok(v) => v,
                Err(rquickjs::Error::Exception) => {
                    let (message, line) = exception(&ctx);
                    return Err(TransformError::JsRuntime { line, message });
                }
                Err(e) => return Err(engine_error(e)),
            };
            let Some(function) = made.as_function().cloned() else {
                return Err(TransformError::JsSyntax {
                    line: 1,
                    message: "the code must be a function, e.g. (value, row) => ...".into(),
                });
            };
            let arity: i32 = function.get("length").unwrap_or(2);
            Ok(Compiled {
                wants_row: reads_row(arity, &t.code),
                function: Persistent::save(&ctx, function),
            })
        })
    }
}

impl Drop for JsTransformer {
    /// Forgets this transformer's compiled function on the dropping thread (other
    /// threads' copies go with their runtime when the thread ends).
    fn drop(&mut self) {
        let _ = ENGINE.try_with(|cell| {
            if let Ok(slot) = cell.try_borrow() {
                if let Some(engine) = slot.as_ref() {
                    engine.functions.borrow_mut().remove(&self.id);
                }
            }
        });
    }
}

fn to_js<'js>(ctx: &Ctx<'js>, v: &Value) -> rquickjs::Result<rquickjs::Value<'js>> {
    Ok(match v {
        Value::Null => rquickjs::Value::new_null(ctx.clone()),
        Value::Bool(b) => rquickjs::Value::new_bool(ctx.clone(), *b),
        Value::Int(i) => match i32::try_from(*i) {
            Ok(small) => rquickjs::Value::new_int(ctx.clone(), small),
            Err(_) if i.unsigned_abs() < (1u64 << 53) => rquickjs::Value::new_number(ctx.clone(), *i as f64),
            Err(_) => rquickjs::String::from_str(ctx.clone(), &i.to_string())?.into_value(),
        },
        Value::UInt(u) if *u < (1u64 << 53) => rquickjs::Value::new_number(ctx.clone(), *u as f64),
        Value::UInt(u) => rquickjs::String::from_str(ctx.clone(), &u.to_string())?.into_value(),
        Value::Float(f) => rquickjs::Value::new_number(ctx.clone(), *f),
        Value::Text(s) => rquickjs::String::from_str(ctx.clone(), s)?.into_value(),
        Value::Bytes(b) => rquickjs::String::from_str(ctx.clone(), &tether_schema::value::hex(b))?.into_value(),
        // A JavaScript string holds characters: these bytes are none, and decoding them
        // with replacement characters would hand the function another value.
        Value::RawText(_) => {
            return Err(rquickjs::Error::new_from_js_message(
                "text",
                "string",
                format!(
                    "the value is text whose bytes are not UTF-8 ({}), which a JavaScript string cannot hold",
                    v.display()
                ),
            ))
        }
    })
}

fn from_js<'js>(ctx: &Ctx<'js>, v: rquickjs::Value<'js>) -> Result<Value, TransformError> {
    if v.is_null() || v.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(i) = v.as_int() {
        return Ok(Value::Int(i as i64));
    }
    if let Some(f) = v.as_float() {
        return Ok(if f.fract() == 0.0 && f.abs() < 9.0e15 {
            Value::Int(f as i64)
        } else {
            Value::Float(f)
        });
    }
    if let Some(s) = v.as_string() {
        return s.to_string().map(Value::Text).map_err(engine_error);
    }
    match ctx.json_stringify(v) {
        Ok(Some(s)) => s.to_string().map(Value::Text).map_err(engine_error),
        Ok(None) => Ok(Value::Null),
        Err(e) => Err(engine_error(e)),
    }
}

impl Transformer for JsTransformer {
    fn apply(&self, value: &Value, row: &RowView<'_>) -> Result<Value, TransformError> {
        if value.is_null() && !self.call_on_null {
            return Ok(Value::Null);
        }
        with_engine(|engine| {
            let compiled = engine.function(self)?;
            engine.context.with(|ctx| {
                let f = compiled.function.clone().restore(&ctx).map_err(engine_error)?;
                let arg = to_js(&ctx, value).map_err(engine_error)?;
                let row_obj = if compiled.wants_row {
                    let o = Object::new(ctx.clone()).map_err(engine_error)?;
                    for (name, v) in row.columns.iter().zip(row.values) {
                        o.set(name.as_str(), to_js(&ctx, v).map_err(engine_error)?)
                            .map_err(engine_error)?;
                    }
                    o.into_value()
                } else {
                    rquickjs::Value::new_undefined(ctx.clone())
                };
                engine.deadline.set(Some(Instant::now() + self.timeout));
                let result: rquickjs::Result<rquickjs::Value> = f.call((arg, row_obj));
                engine.deadline.set(None);
                let out = match result {
                    Ok(v) => from_js(&ctx, v)?,
                    Err(rquickjs::Error::Exception) => {
                        let (message, line) = exception(&ctx);
                        if message.contains("interrupted") {
                            return Err(TransformError::JsTimeout {
                                limit_ms: self.timeout.as_millis() as u64,
                            });
                        }
                        if message == "out of memory" || message == "InternalError: out of memory" {
                            return Err(TransformError::JsMemory {
                                limit_mb: (engine.memory.get() >> 20) as u64,
                            });
                        }
                        return Err(TransformError::JsRuntime { line, message });
                    }
                    Err(e) => return Err(engine_error(e)),
                };
                let out = coerce(out, &self.ty)?;
                self.fit.check(&out)?;
                Ok(out)
            })
        })
    }
    fn deterministic(&self) -> bool {
        self.deterministic
    }
    fn describe(&self) -> String {
        self.description.clone()
    }
    fn injective(&self) -> bool {
        false
    }
    fn key_map_reason(&self) -> Option<&'static str> {
        if !self.deterministic {
            Some("declared deterministic = false")
        } else if self.reads_row {
            Some("the function reads its row")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn arguments_counts_only_as_a_word() {
        assert!(super::names_arguments("function (v) { return arguments[1].x }"));
        assert!(!super::names_arguments("(v) => v.my_arguments + v.argumentsX"));
        assert!(super::reads_row(2, "(v, row) => v"));
        assert!(!super::reads_row(1, "(v, row = {}) => row.x"));
    }
}
