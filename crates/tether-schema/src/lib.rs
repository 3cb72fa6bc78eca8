//! Tether's engine-neutral model of a database and its foreign-key graph.
//!
//! No I/O happens here: introspection fills [`Schema`], and everything else (sync,
//! the gateway's planner, the CLI) reads it. [`FkGraph`] finds cycles, the edges that
//! break them and a load order; [`render`] draws the model for people and scripts.

pub mod body;
pub mod engine;
pub mod error;
pub mod graph;
pub mod model;
pub mod name;
pub mod objects;
pub mod render;
pub mod sql;
pub mod types;
pub mod value;
pub mod virtual_fk;

pub use engine::Engine;
pub use error::SchemaError;
pub use graph::{Cycle, Edge, FkGraph};
pub use model::{Column, FkAction, ForeignKey, Identity, Partition, Partitioning, Schema, Table, TableName, UniqueKey};
pub use objects::{
    Check, Collation, Extension, Function, Index, KeyConstraint, NamedStatement, PartitionConstraint, SchemaObjects,
    Sequence, TableExtras, Trigger, TypeKind, UserType, View,
};
pub use types::DataType;
pub use value::{Row, Value};
pub use virtual_fk::{LocatedSpec, VirtualFkSpec};
