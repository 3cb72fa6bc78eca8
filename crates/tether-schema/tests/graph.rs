//! The FK graph on hand-built schemas: cycles, breaking sets, load order, levels.

use tether_schema::{Column, DataType, FkAction, FkGraph, ForeignKey, Schema, Table, TableName};

fn col(name: &str, nullable: bool) -> Column {
    Column {
        name: name.into(),
        engine_type: "bigint".into(),
        normalized_type: DataType::Int {
            bytes: 8,
            unsigned: false,
        },
        nullable,
        default: None,
        identity: None,
        generated: None,
    }
}

/// `table(cols)` where a trailing `?` marks a nullable column; FKs are
/// `(name, columns, parent)` referencing the parent's `id`.
fn table(name: &str, cols: &[&str], fks: &[(&str, &str, &str)]) -> Table {
    Table {
        name: name.into(),
        schema: None,
        columns: cols
            .iter()
            .map(|c| col(c.trim_end_matches('?'), c.ends_with('?')))
            .collect(),
        primary_key: vec!["id".into()],
        unique_keys: vec![],
        foreign_keys: fks
            .iter()
            .map(|(n, c, p)| ForeignKey {
                name: (*n).into(),
                columns: vec![(*c).into()],
                referenced_table: (*p).into(),
                referenced_schema: None,
                referenced_columns: vec!["id".into()],
                on_delete: FkAction::NoAction,
                on_update: FkAction::NoAction,
                deferrable: false,
                initially_deferred: false,
                is_virtual: false,
                delete_set_columns: Vec::new(),
                match_full: false,
                not_valid: false,
                partition: None,
            })
            .collect(),
        ..Default::default()
    }
}

fn schema(tables: Vec<Table>) -> Schema {
    Schema {
        engine: tether_schema::Engine::Sqlite,
        default_schema: None,
        tables,
        objects: Default::default(),
    }
}

fn names(v: &[TableName]) -> Vec<&str> {
    v.iter().map(|t| t.name.as_str()).collect()
}

#[test]
fn a_chain_loads_parents_first_in_levels() {
    let s = schema(vec![
        table("item", &["id", "order_id"], &[("item_order_fk", "order_id", "orders")]),
        table(
            "orders",
            &["id", "customer_id"],
            &[("orders_customer_fk", "customer_id", "customer")],
        ),
        table("customer", &["id"], &[]),
        table("region", &["id"], &[]),
    ]);
    let g = FkGraph::build(&s);
    assert!(g.cycles.is_empty());
    assert_eq!(names(&g.load_order), ["customer", "orders", "item", "region"]);
    let levels: Vec<Vec<&str>> = g.load_levels.iter().map(|l| names(l)).collect();
    assert_eq!(levels, vec![vec!["customer", "region"], vec!["orders"], vec!["item"]]);
}

#[test]
fn a_nullable_self_reference_is_a_breakable_cycle_of_one() {
    let s = schema(vec![table(
        "employee",
        &["id", "reports_to?"],
        &[("employee_reports_to_fk", "reports_to", "employee")],
    )]);
    let g = FkGraph::build(&s);
    assert_eq!(g.cycles.len(), 1);
    let c = &g.cycles[0];
    assert_eq!(names(&c.tables), ["employee"]);
    assert_eq!(c.breakable, ["employee_reports_to_fk"]);
    assert_eq!(c.break_with, ["employee_reports_to_fk"]);
    assert!(c.can_break);
}

#[test]
fn a_not_null_self_reference_cannot_be_broken() {
    let s = schema(vec![table(
        "node",
        &["id", "parent_id"],
        &[("node_parent_fk", "parent_id", "node")],
    )]);
    let c = &FkGraph::build(&s).cycles[0];
    assert!(c.breakable.is_empty());
    assert!(!c.can_break);
}

#[test]
fn a_two_table_cycle_breaks_on_its_nullable_edge_and_orders_around_it() {
    let s = schema(vec![
        table(
            "customer",
            &["id", "default_address_id?"],
            &[("customer_default_address_fk", "default_address_id", "address")],
        ),
        table(
            "address",
            &["id", "customer_id"],
            &[("address_customer_fk", "customer_id", "customer")],
        ),
    ]);
    let g = FkGraph::build(&s);
    let c = &g.cycles[0];
    assert_eq!(c.breakable, ["customer_default_address_fk"]);
    assert_eq!(c.break_with, ["customer_default_address_fk"]);
    assert!(c.can_break);
    // With the nullable edge broken, address depends on customer.
    assert_eq!(names(&c.tables), ["customer", "address"]);
    assert_eq!(names(&g.load_order), ["customer", "address"]);
}

#[test]
fn two_not_null_fks_pointing_at_each_other_have_no_breakable_edge() {
    let s = schema(vec![
        table("a", &["id", "b_id"], &[("a_b_fk", "b_id", "b")]),
        table("b", &["id", "a_id"], &[("b_a_fk", "a_id", "a")]),
        table("c", &["id", "a_id"], &[("c_a_fk", "a_id", "a")]),
    ]);
    let g = FkGraph::build(&s);
    assert_eq!(g.cycles.len(), 1);
    let c = &g.cycles[0];
    assert!(c.breakable.is_empty() && c.break_with.is_empty() && !c.can_break);
    assert_eq!(names(&g.load_order), ["a", "b", "c"]);
    assert_eq!(g.load_levels.len(), 2);
}

#[test]
fn the_breaking_set_is_minimal_and_can_be_insufficient() {
    // a <-> b (a.b_id nullable, b.a_id nullable): one of the two suffices.
    let s = schema(vec![
        table("a", &["id", "b_id?"], &[("a_b_fk", "b_id", "b")]),
        table("b", &["id", "a_id?"], &[("b_a_fk", "a_id", "a")]),
    ]);
    let c = &FkGraph::build(&s).cycles[0];
    assert_eq!(c.breakable.len(), 2);
    assert_eq!(c.break_with.len(), 1);

    // x <-> y (both NOT NULL) plus y -> z -> y through the nullable y_z_fk: removing
    // y_z_fk leaves x <-> y, so the component cannot be broken.
    let s = schema(vec![
        table("x", &["id", "y_id"], &[("x_y_fk", "y_id", "y")]),
        table(
            "y",
            &["id", "x_id", "z_id?"],
            &[("y_x_fk", "x_id", "x"), ("y_z_fk", "z_id", "z")],
        ),
        table("z", &["id", "y_id"], &[("z_y_fk", "y_id", "y")]),
    ]);
    let c = &FkGraph::build(&s).cycles[0];
    assert_eq!(names(&c.tables), ["x", "y", "z"]);
    assert_eq!(c.breakable, ["y_z_fk"]);
    assert!(c.break_with.is_empty());
    assert!(!c.can_break);
}

#[test]
fn fks_to_tables_outside_the_schema_are_not_edges() {
    let s = schema(vec![table(
        "orders",
        &["id", "customer_id"],
        &[("orders_customer_fk", "customer_id", "elsewhere")],
    )]);
    let g = FkGraph::build(&s);
    assert!(g.cycles.is_empty());
    assert_eq!(names(&g.load_order), ["orders"]);
}
