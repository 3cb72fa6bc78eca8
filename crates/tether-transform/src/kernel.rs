//! What kernel kinds share: the [`Kernel`] trait (one non-null value in, one out, drawn
//! from a keyed or fresh stream of numbers), the wrapper that makes a kernel a
//! [`Transformer`] (nulls, redraws, truncation, type checks), and helpers kernels use.

use tether_schema::{Column, DataType, Value};

use crate::canonical::Canon;
use crate::error::TransformError;
use crate::fit::Fit;
use crate::keyed::{Key, Rng};
use crate::options::Opts;
use crate::{RowView, Transformer};

/// What a kernel kind does with one non-null value.
pub(crate) trait Kernel: Send + Sync {
    fn produce(&self, input: &Value, rng: &mut Rng) -> Result<Value, TransformError>;
    /// Whether drawing again can change an output that equals the input.
    fn reroll_on_identity(&self) -> bool {
        true
    }
    fn injective(&self) -> bool {
        false
    }
    /// See [`Transformer::output_bits`].
    fn output_bits(&self) -> Option<u32> {
        None
    }
    /// Receives the transformer's key once it is known (after the options are read).
    fn set_key(&mut self, _key: Key) {}
    /// Why the output depends on more than the input and the options (see
    /// [`Transformer::key_map_reason`]).
    fn key_map_reason(&self) -> Option<&'static str> {
        None
    }
}

pub(crate) struct KernelTransformer {
    pub(crate) kernel: Box<dyn Kernel>,
    pub(crate) key: Key,
    pub(crate) random: bool,
    pub(crate) reroll: bool,
    pub(crate) injective: bool,
    pub(crate) description: String,
    pub(crate) max_len: Option<usize>,
    pub(crate) truncate: bool,
    pub(crate) fit: Fit,
    /// The column type's canonical form: the draw is keyed by the canonical value, so
    /// equal values read as other text (another type of an FK, another engine) agree.
    pub(crate) canon: Canon,
}

impl Transformer for KernelTransformer {
    fn apply(&self, value: &Value, _row: &RowView<'_>) -> Result<Value, TransformError> {
        if value.is_null() {
            return Ok(Value::Null);
        }
        let mut rng = if self.random {
            Rng::fresh()
        } else {
            self.key.rng_for(&self.canon.key(value))
        };
        let value = &*self.canon.input(value);
        let mut out = self.kernel.produce(value, &mut rng)?;
        if self.reroll {
            let mut tries = 0;
            while out == *value && tries < 8 {
                out = self.kernel.produce(value, &mut rng)?;
                tries += 1;
            }
        }
        if let (Some(max), Value::Text(s)) = (self.max_len, &mut out) {
            if s.len() > max {
                match s.char_indices().nth(max) {
                    Some((cut, _)) if self.truncate => s.truncate(cut),
                    Some(_) => {
                        return Err(TransformError::DoesNotFit {
                            value: Value::Text(s.clone()).display(),
                            column_type: format!("max_length {max}"),
                            reason: "too long (truncate = false)".into(),
                        })
                    }
                    None => {}
                }
            }
        }
        self.fit.check(&out)?;
        Ok(out)
    }
    fn deterministic(&self) -> bool {
        !self.random
    }
    fn describe(&self) -> String {
        self.description.clone()
    }
    fn injective(&self) -> bool {
        self.injective
    }
    fn output_bits(&self) -> Option<u32> {
        // A draw kept under a max_length may be cut shorter.
        if self.random || self.max_len.is_some() {
            return None;
        }
        self.kernel.output_bits()
    }
    fn key_map_reason(&self) -> Option<&'static str> {
        if self.random {
            Some("generate_* draws fresh values on every run")
        } else {
            self.kernel.key_map_reason()
        }
    }
}

/// Fails unless the column holds text (or a type Tether passes through as text).
pub(crate) fn require_text(o: &Opts, column: &Column) -> Result<(), TransformError> {
    match &column.normalized_type {
        t if t.is_text() => Ok(()),
        DataType::Json | DataType::Other(_) => Ok(()),
        t => Err(TransformError::not_for_type(
            o.kind,
            t,
            "it produces text; use it on char/varchar/text columns",
        )),
    }
}

/// An option's TOML value as a [`Value`] (`constant`'s `value`, `categorical`'s list).
pub(crate) fn toml_to_value(raw: &toml::Value, o: &Opts) -> Result<Value, TransformError> {
    Ok(match raw {
        toml::Value::String(s) => Value::Text(s.clone()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::Text(d.to_string()),
        other => {
            return Err(o.bad(
                "value",
                format!("expected a string, number or boolean, found {}", other.type_str()),
            ))
        }
    })
}
