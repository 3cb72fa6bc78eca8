//! Helpers: columns and schemas written compactly.

#![allow(dead_code)]

use tether_schema::{Column, FkAction, ForeignKey, Schema, Table, TableName, Value};
use tether_transform::{build, RowView, Seed, TransformSpec, Transformer};

pub fn col(name: &str, ty: &str, nullable: bool) -> Column {
    Column {
        name: name.into(),
        engine_type: ty.into(),
        normalized_type: ty.parse().unwrap(),
        nullable,
        default: None,
        identity: None,
        generated: None,
    }
}

pub fn seed() -> Seed {
    Seed::new("test seed")
}

pub fn t(kind: &str, ty: &str) -> Box<dyn Transformer> {
    build(&TransformSpec::new(kind), &col("c", ty, true), &seed()).unwrap()
}

pub fn spec_on(spec: TransformSpec, ty: &str) -> Box<dyn Transformer> {
    build(&spec, &col("c", ty, true), &seed()).unwrap()
}

pub fn apply(t: &dyn Transformer, v: Value) -> Value {
    t.apply(&v, &RowView::EMPTY).unwrap()
}

pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

pub fn text_of(v: &Value) -> &str {
    match v {
        Value::Text(s) => s,
        other => panic!("expected text, got {other:?}"),
    }
}

pub fn fk(name: &str, cols: &[&str], parent: &str, parent_cols: &[&str]) -> ForeignKey {
    ForeignKey {
        name: name.into(),
        columns: cols.iter().map(|s| s.to_string()).collect(),
        referenced_table: parent.into(),
        referenced_schema: None,
        referenced_columns: parent_cols.iter().map(|s| s.to_string()).collect(),
        on_delete: FkAction::NoAction,
        on_update: FkAction::Cascade,
        deferrable: false,
        initially_deferred: false,
        is_virtual: false,
        delete_set_columns: Vec::new(),
        match_full: false,
        not_valid: false,
        partition: None,
    }
}

/// `cols`: (name, type, nullable).
pub fn table(name: &str, cols: &[(&str, &str, bool)], pk: &[&str], fks: Vec<ForeignKey>) -> Table {
    Table {
        name: name.into(),
        schema: None,
        columns: cols.iter().map(|(n, ty, null)| col(n, ty, *null)).collect(),
        primary_key: pk.iter().map(|s| s.to_string()).collect(),
        unique_keys: vec![],
        foreign_keys: fks,
        ..Default::default()
    }
}

pub fn schema(tables: Vec<Table>) -> Schema {
    Schema {
        engine: tether_schema::Engine::Sqlite,
        default_schema: None,
        objects: Default::default(),
        tables,
    }
}

pub fn tn(name: &str) -> TableName {
    TableName::new(None, name)
}

pub fn at(table: &str, column: &str, spec: TransformSpec) -> ((TableName, String), TransformSpec) {
    ((tn(table), column.to_string()), spec)
}
