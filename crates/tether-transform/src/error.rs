//! Errors of building and applying transformers.
//!
//! Messages name the transformer kind and option; the sync integration adds the table,
//! column and row key around them.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum TransformError {
    #[error("unknown transformer `{kind}` (known: {known})")]
    UnknownKind { kind: String, known: String },

    #[error("transformer `{kind}`: unknown option `{option}` (valid options: {valid})")]
    UnknownOption {
        kind: String,
        option: String,
        valid: String,
    },

    #[error("transformer `{kind}`: option `{option}`: {reason}")]
    BadOption {
        kind: String,
        option: String,
        reason: String,
    },

    #[error("transformer spec: {0}")]
    BadSpec(String),

    #[error("transformer `{kind}` cannot be used on a column of type {column_type}: {reason}")]
    NotForType {
        kind: String,
        column_type: String,
        reason: String,
    },

    #[error("transformer `{kind}`: cannot transform {value}: {reason}")]
    BadInput {
        kind: String,
        value: String,
        reason: String,
    },

    #[error("value {value} does not fit the column type {column_type}: {reason}")]
    DoesNotFit {
        value: String,
        column_type: String,
        reason: String,
    },

    #[error("transformer set on {table}.{column}, but table `{table}` does not exist")]
    MissingTable { table: String, column: String },

    #[error("transformer set on {table}.{column}, but the table has no column `{column}`")]
    MissingColumn { table: String, column: String },

    #[error("transformer on {table}.{column}: {source}")]
    OnColumn {
        table: String,
        column: String,
        #[source]
        source: Box<TransformError>,
    },

    /// A plan error of FK consistency (boxed: the variant is large).
    #[error("{0}")]
    Fk(Box<FkConflict>),

    #[error("duplicate value in unique key ({columns}) after transformation: ({values})")]
    Duplicate { columns: String, values: String },

    /// Two transformed keys distinct to Tether, one key to the destination's collation.
    #[error(
        "duplicate value in unique key ({columns}) after transformation: ({values}) is ({folded}) as the \
         destination compares text (case, accents and trailing spaces ignored: a case-insensitive collation \
         or citext), the same as the key of an earlier row of this run; use an alphabet of one case (`hex`, \
         `digits`, `letters`) or a longer output for this key"
    )]
    DuplicateFolded {
        columns: String,
        values: String,
        folded: String,
    },

    /// Two transformed keys distinct to Tether, one key to a destination's collation as
    /// that server weighs each character ([`crate::Weights`]).
    #[error(
        "duplicate value in unique key ({columns}) after transformation: ({values}) is the same key as that \
         of an earlier row of this run to {collation}, the collation of the column in {destination} (it \
         weighs these characters the same); use an ASCII alphabet of one case (`hex`, `digits`, `letters`) \
         or a longer output for this key"
    )]
    DuplicateCollated {
        columns: String,
        values: String,
        collation: String,
        destination: String,
    },

    #[error("JavaScript transformer: syntax error at line {line}: {message}")]
    JsSyntax { line: u32, message: String },

    #[error("JavaScript transformer: {message}{}", line.map(|l| format!(" (line {l})")).unwrap_or_default())]
    JsRuntime { line: Option<u32>, message: String },

    #[error("JavaScript transformer: call exceeded its time limit of {limit_ms} ms")]
    JsTimeout { limit_ms: u64 },

    #[error("JavaScript transformer: out of memory (limit {limit_mb} MB; raise it with memory_mb)")]
    JsMemory { limit_mb: u64 },

    #[error("key map spill file: {0}")]
    Io(#[from] std::io::Error),
}

/// An FK column whose transformer does not agree with the column it references.
#[derive(Debug, Error)]
pub enum FkConflict {
    #[error(
        "foreign key `{foreign_key}`: {child_table}.{child_column} has transformer {child_spec}, \
         but it references {parent_table}.{parent_column} whose transformer is {parent_spec}; \
         an FK column inherits its parent's transformer: remove the one on {child_table}.{child_column} \
         or make them equal"
    )]
    Differs {
        foreign_key: String,
        child_table: String,
        child_column: String,
        child_spec: String,
        parent_table: String,
        parent_column: String,
        parent_spec: String,
    },

    #[error(
        "foreign key `{foreign_key}`: {child_table}.{child_column} has transformer {child_spec}, \
         but the column it references, {parent_table}.{parent_column}, is copied unchanged, \
         so transformed children would be orphans: set the transformer on {parent_table}.{parent_column} instead"
    )]
    ChildOnly {
        foreign_key: String,
        child_table: String,
        child_column: String,
        child_spec: String,
        parent_table: String,
        parent_column: String,
    },

    #[error(
        "foreign key `{foreign_key}`: {child_table}.{child_column} inherits {spec} from \
         {from_table}.{from_column} through foreign key `{from_fk}`, but it also references \
         {parent_table}.{parent_column}, which is copied unchanged, so transformed children would be \
         orphans: set the same transformer on {parent_table}.{parent_column}"
    )]
    OtherParentUnchanged {
        foreign_key: String,
        child_table: String,
        child_column: String,
        spec: String,
        from_fk: String,
        from_table: String,
        from_column: String,
        parent_table: String,
        parent_column: String,
    },

    #[error(
        "foreign key `{foreign_key}`: {child_table}.{child_column} inherits the transformer of \
         {parent_table}.{parent_column}, {parent_spec} (options not set are the parent column's \
         defaults), which cannot run there: {reason}; parent and child must compute the same values: \
         set options on {parent_table}.{parent_column} that fit every column referencing it"
    )]
    DoesNotFitChild {
        foreign_key: String,
        child_table: String,
        child_column: String,
        parent_table: String,
        parent_column: String,
        parent_spec: String,
        reason: String,
    },

    #[error(
        "{table}.{column} references two different transformers: {first_spec} through foreign key \
         `{first_fk}` and {second_spec} through foreign key `{second_fk}`"
    )]
    TwoParents {
        table: String,
        column: String,
        first_fk: String,
        first_spec: String,
        second_fk: String,
        second_spec: String,
    },

    #[error(
        "{table}.{column} inherits {spec} from {first_root} and, through foreign key `{foreign_key}`, \
         from {second_root}; {reason}, so each parent's new values reach children through its own key map, \
         and one column cannot follow two: use a transformer that depends on the key value alone"
    )]
    TwoKeyMaps {
        table: String,
        column: String,
        foreign_key: String,
        first_root: String,
        second_root: String,
        spec: String,
        reason: String,
    },

    #[error(
        "foreign key `{foreign_key}`: {table}.{column} inherits {spec} from {root}; {reason}, so children \
         take its new values from a key map keyed by ({key}), but the foreign key does not carry {parent}: \
         use a transformer on {root} that depends on the key value alone"
    )]
    KeyMapLost {
        foreign_key: String,
        table: String,
        column: String,
        root: String,
        spec: String,
        reason: String,
        key: String,
        parent: String,
    },

    #[error(
        "foreign key `{foreign_key}`: {table}.{inheriting} inherits {spec} from {root}; {reason}, so children \
         take its new values from a key map looked up by the key {key} as read, and {table}.{column} \
         ({child_type}) reads the keys of {root_key} ({root_type}) as other text: give both columns one type, \
         or use a transformer on {root} that depends on the key value alone"
    )]
    KeyMapTypes {
        foreign_key: String,
        table: String,
        /// The column taking its values from the map.
        inheriting: String,
        /// The root key the map is keyed by: `(region, num)`, or `(num)`.
        key: String,
        /// The child's column of that key that reads the root's otherwise.
        column: String,
        child_type: String,
        root: String,
        root_key: String,
        root_type: String,
        spec: String,
        reason: String,
    },
}

impl TransformError {
    pub(crate) fn bad_option(kind: &str, option: &str, reason: impl Into<String>) -> Self {
        TransformError::BadOption {
            kind: kind.to_string(),
            option: option.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn not_for_type(kind: &str, ty: &tether_schema::DataType, reason: impl Into<String>) -> Self {
        TransformError::NotForType {
            kind: kind.to_string(),
            column_type: ty.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn bad_input(kind: &str, value: &tether_schema::Value, reason: impl Into<String>) -> Self {
        TransformError::BadInput {
            kind: kind.to_string(),
            value: value.display(),
            reason: reason.into(),
        }
    }
}
