//! Twenty-fifth session (review r25g): a child column one statement reaches through
//! two FKs with different effects runs as InnoDB runs it ([`Plan::by_innodb`]),
//! naming the two FKs; the same effect twice stays a plan.

use tether_fkplan::{plan, Analysis, Plan};
use tether_schema::{Column, DataType, FkAction, ForeignKey, Schema, Table};

fn table(name: &str, columns: &[&str], fks: Vec<ForeignKey>) -> Table {
    Table {
        name: name.into(),
        schema: None,
        columns: columns
            .iter()
            .map(|c| Column {
                name: c.to_string(),
                engine_type: "int(11)".into(),
                normalized_type: DataType::Int {
                    bytes: 4,
                    unsigned: false,
                },
                nullable: *c != "id",
                default: None,
                identity: None,
                generated: None,
            })
            .collect(),
        primary_key: vec!["id".into()],
        unique_keys: Vec::new(),
        foreign_keys: fks,
        ..Default::default()
    }
}

fn fk(name: &str, columns: &[&str], parent: &str, parent_columns: &[&str], on_delete: FkAction) -> ForeignKey {
    ForeignKey {
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        referenced_table: parent.into(),
        referenced_schema: None,
        referenced_columns: parent_columns.iter().map(|c| c.to_string()).collect(),
        on_delete,
        on_update: FkAction::Restrict,
        deferrable: false,
        initially_deferred: false,
        is_virtual: false,
        delete_set_columns: Vec::new(),
        match_full: false,
        not_valid: false,
        partition: None,
    }
}

/// a <- b (`fk_b`), a <- c (`fk_a`), both CASCADE; d.x <- b (`d1`, `d1_action`)
/// and d.x <- c (`d2`, `d2_action`); `d2` over (y) alone when `composite`, `d1`
/// then over (x, y) to b (id, aid).
fn schema(d1_action: FkAction, d2_action: FkAction, composite: bool) -> Schema {
    use FkAction::*;
    let (d1, d2) = match composite {
        false => (
            fk("d1", &["x"], "b", &["id"], d1_action),
            fk("d2", &["x"], "c", &["id"], d2_action),
        ),
        true => (
            fk("d1", &["x", "y"], "b", &["id", "aid"], d1_action),
            fk("d2", &["y"], "c", &["id"], d2_action),
        ),
    };
    Schema {
        engine: tether_schema::Engine::Mysql,
        default_schema: None,
        objects: Default::default(),
        tables: vec![
            table("a", &["id"], vec![]),
            table("b", &["id", "aid"], vec![fk("fk_b", &["aid"], "a", &["id"], Cascade)]),
            table("c", &["id", "aid"], vec![fk("fk_a", &["aid"], "a", &["id"], Cascade)]),
            table("d", &["id", "x", "y"], vec![d1, d2]),
        ],
    }
}

fn planned(schema: &Schema, sql: &str) -> Plan {
    match plan(sql, schema, "shop") {
        Ok(Analysis::Plan(p)) => *p,
        other => panic!("{sql}: expected a plan, got {other:?}"),
    }
}

#[test]
fn set_null_and_cascade_of_one_column_run_as_innodb_runs_them() {
    use FkAction::*;
    for sql in ["DELETE FROM a WHERE id = 1", "REPLACE INTO a VALUES (1)"] {
        let p = planned(&schema(SetNull, Cascade, false), sql);
        let why = p.by_innodb.clone().unwrap_or_default();
        assert!(
            why.starts_with("FKs `d1` (SET NULL) and `d2` (ON DELETE CASCADE) of `d` both act on `x` in one statement"),
            "{sql}: {why}"
        );
        assert!(p.to_string().starts_with("runs as InnoDB runs it: FKs `d1`"), "{p}");
    }
    let composite = planned(&schema(SetNull, Cascade, true), "DELETE FROM a WHERE id = 1");
    assert!(
        composite
            .by_innodb
            .as_deref()
            .is_some_and(|w| w.contains("both act on `y`")),
        "{composite}"
    );
}

#[test]
fn the_same_effect_twice_stays_planned() {
    use FkAction::*;
    for (d1, d2) in [
        (Cascade, Cascade),
        (SetNull, SetNull),
        (Restrict, Cascade),
        (Restrict, Restrict),
    ] {
        let p = planned(&schema(d1, d2, false), "DELETE FROM a WHERE id = 1");
        assert_eq!(p.by_innodb, None, "{d1:?} {d2:?}: {p}");
    }
    // Two SET NULLs over different columns: whichever goes first decides.
    let p = planned(&schema(SetNull, SetNull, true), "DELETE FROM a WHERE id = 1");
    assert!(p.by_innodb.is_some(), "{p}");
}
