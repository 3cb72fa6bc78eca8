//! Anonymization for Tether: deterministic keyed transformers, FK-consistent resolution,
//! JavaScript transformers, and the bookkeeping that keeps keys intact (key maps for
//! random generators, uniqueness guards).
//!
//! No I/O against databases happens here. A transformer is built once per column with
//! [`build`] from a [`TransformSpec`] (what the job file says), the column's type and the
//! job's [`Seed`]; it then maps values one by one. Every built-in transformer is a pure
//! function of (seed, kind and canonical options, input), so a parent key and every
//! child key referencing it get the same output without a lookup table; the others
//! (`generate_*`, a `js` function reading its row, ...) say why in
//! [`Transformer::key_map_reason`] and reach children through a [`KeyMap`]. [`resolve`]
//! decides which transformer is in force on every column, following foreign keys.
//! The catalogue of kinds and their options is in `TRANSFORMERS.md`.
//!
//! ```
//! use tether_schema::{Column, Value};
//! use tether_transform::{build, RowView, Seed, TransformSpec};
//!
//! let column = Column {
//!     name: "email".into(),
//!     engine_type: "varchar(255)".into(),
//!     normalized_type: "varchar(255)".parse().unwrap(),
//!     nullable: true,
//!     default: None,
//!     identity: None,
//!     generated: None,
//! };
//! let spec: TransformSpec = toml::from_str::<toml::Table>(r#"email = { kind = "email", keep_domain = true }"#)
//!     .unwrap()["email"]
//!     .clone()
//!     .try_into()
//!     .unwrap();
//! let t = build(&spec, &column, &Seed::new("job secret")).unwrap();
//! let out = t.apply(&Value::Text("ada@lovelace.org".into()), &RowView::EMPTY).unwrap();
//! assert!(matches!(&out, Value::Text(s) if s.ends_with("@lovelace.org")));
//! assert_eq!(out, t.apply(&Value::Text("ada@lovelace.org".into()), &RowView::EMPTY).unwrap());
//! assert_eq!(t.apply(&Value::Null, &RowView::EMPTY).unwrap(), Value::Null);
//! ```

pub mod canonical;
pub mod error;
pub mod feistel;
pub mod fit;
pub mod js_input;
pub mod keyed;
pub mod keymap;
pub mod privacy;
pub mod registry;
pub mod resolve;
pub mod spec;
pub mod unique;

mod address;
mod dates;
mod js;
mod kernel;
mod numbers;
mod options;
mod person;
mod text;
mod words;

pub use canonical::canonical_value;
pub use error::{FkConflict, TransformError};
pub use feistel::Permutation;
pub use fit::{coerce, fits};
pub use js_input::{js_input, AsRootInput, JsInput};
pub use keyed::{Key, Seed};
pub use keymap::{composite_key, KeyMap};
pub use registry::{
    build, build_keyed_as, build_with, canonical_spec, is_deterministic_spec, key_map_reason, kind_summary,
    known_kinds, same_on_every_row, BuildContext,
};
pub use resolve::{resolve, Origin, Resolved, Via};
pub use spec::TransformSpec;
pub use unique::{fold, UniqueGuard, Weights};

use tether_schema::Value;

/// A built transformer for one column.
pub trait Transformer: Send + Sync {
    /// Transforms one value; `row` gives the row's other columns by name (for `js`).
    /// Nulls stay null unless the transformer says otherwise (`null`, `constant`, `default`).
    fn apply(&self, value: &Value, row: &RowView<'_>) -> Result<Value, TransformError>;
    /// Same (seed, options, input) -> same output, always (false for `generate_*`).
    fn deterministic(&self) -> bool;
    /// A canonical description `kind(option=value, ...)`, every option spelled out
    /// (defaults included); never contains the seed.
    fn describe(&self) -> String;
    /// True if the output is injective on its domain (keyed permutations), so unique
    /// keys stay unique without a check.
    fn injective(&self) -> bool;
    /// For a keyed draw of a fixed shape (a UUID, a text or binary hash of a fixed
    /// length), the bits of its output: at 100 or more two inputs meet one output only
    /// by a chance no table reaches, so a key it writes is matched across runs as if
    /// the draw were injective. `None` otherwise.
    fn output_bits(&self) -> Option<u32> {
        None
    }
    /// Why the output is not a function of (seed, canonical spec, input value) alone, the
    /// same on every column the spec is built for; `None` when it is. A referenced key
    /// with such a transformer passes its new values to the columns referencing it
    /// through a [`KeyMap`] instead of each column computing them (see [`resolve`]).
    fn key_map_reason(&self) -> Option<&'static str> {
        (!self.deterministic()).then_some("it draws fresh values on every run")
    }
    /// The value written on every row whatever the input (`null`, `default`,
    /// `constant`); `None` when the output depends on the input.
    fn same_on_every_row(&self) -> Option<&Value> {
        None
    }
}

/// Column names and values of the current row (borrowed).
#[derive(Debug, Clone, Copy)]
pub struct RowView<'a> {
    pub columns: &'a [String],
    pub values: &'a [Value],
}

impl<'a> RowView<'a> {
    /// A row with no columns, for transformers that do not look at the row.
    pub const EMPTY: RowView<'static> = RowView {
        columns: &[],
        values: &[],
    };

    pub fn new(columns: &'a [String], values: &'a [Value]) -> Self {
        RowView { columns, values }
    }

    /// The value of a column of this row, by name.
    pub fn get(&self, column: &str) -> Option<&'a Value> {
        self.columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| self.values.get(i))
    }
}
