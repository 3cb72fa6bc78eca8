//! Planner specifications: a schema built by hand, a statement, the exact plan.

use tether_fkplan::{
    plan, ActionKind, Analysis, Event, KeyValue, NewChildValue, NewRows, Part, Plan, PlanError, ReplaceSource, Start,
    Template,
};
use tether_schema::{Column, DataType, FkAction, ForeignKey, Schema, Table, UniqueKey};

fn column(name: &str, nullable: bool) -> Column {
    Column {
        name: name.into(),
        engine_type: "int(11)".into(),
        normalized_type: DataType::Int {
            bytes: 4,
            unsigned: false,
        },
        nullable,
        default: None,
        identity: None,
        generated: None,
    }
}

fn fk(
    name: &str,
    columns: &[&str],
    parent: &str,
    parent_columns: &[&str],
    on_delete: FkAction,
    on_update: FkAction,
) -> ForeignKey {
    ForeignKey {
        name: name.into(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        referenced_table: parent.into(),
        referenced_schema: None,
        referenced_columns: parent_columns.iter().map(|c| c.to_string()).collect(),
        on_delete,
        on_update,
        deferrable: false,
        initially_deferred: false,
        is_virtual: false,
        delete_set_columns: Vec::new(),
        match_full: false,
        not_valid: false,
        partition: None,
    }
}

fn table(name: &str, columns: &[&str], pk: &[&str], fks: Vec<ForeignKey>) -> Table {
    Table {
        name: name.into(),
        schema: None,
        columns: columns.iter().map(|c| column(c, !pk.contains(c))).collect(),
        primary_key: pk.iter().map(|c| c.to_string()).collect(),
        unique_keys: Vec::new(),
        foreign_keys: fks,
        ..Default::default()
    }
}

/// p <- c (CASCADE / CASCADE) <- g (SET NULL on delete), p <- r (RESTRICT),
/// tree (self-reference, CASCADE), m (x, y) <- mc (multi-column CASCADE).
fn schema() -> Schema {
    use FkAction::*;
    let mut p = table("p", &["id", "code"], &["id"], vec![]);
    p.unique_keys.push(UniqueKey {
        name: "p_code".into(),
        columns: vec!["code".into()],
        constraint: true,
        predicate: None,
    });
    Schema {
        engine: tether_schema::Engine::Mysql,
        default_schema: None,
        objects: Default::default(),
        tables: vec![
            p,
            table(
                "c",
                &["id", "p_id"],
                &["id"],
                vec![fk("c_p_fk", &["p_id"], "p", &["id"], Cascade, Cascade)],
            ),
            table(
                "g",
                &["id", "c_id"],
                &["id"],
                vec![fk("g_c_fk", &["c_id"], "c", &["id"], SetNull, Restrict)],
            ),
            table(
                "r",
                &["id", "p_code"],
                &["id"],
                vec![fk("r_p_fk", &["p_code"], "p", &["code"], Restrict, NoAction)],
            ),
            table(
                "tree",
                &["id", "parent_id"],
                &["id"],
                vec![fk("tree_fk", &["parent_id"], "tree", &["id"], Cascade, Restrict)],
            ),
            table("m", &["x", "y", "v"], &["x", "y"], vec![]),
            table(
                "mc",
                &["id", "x", "y"],
                &["id"],
                vec![fk("mc_m_fk", &["x", "y"], "m", &["x", "y"], Cascade, Cascade)],
            ),
            table("lone", &["id"], &["id"], vec![]),
        ],
    }
}

fn planned(sql: &str) -> Plan {
    match plan(sql, &schema(), "shop") {
        Ok(Analysis::Plan(p)) => *p,
        other => panic!("{sql}: expected a plan, got {other:?}"),
    }
}

#[test]
fn delete_reads_keys_then_cascades_to_every_level() {
    let p = planned("DELETE FROM p WHERE id IN (1, 2)");
    assert_eq!(
        p.start,
        Start::Delete {
            read: "SELECT `id`, `code` FROM p WHERE id IN (1, 2) FOR UPDATE".into()
        }
    );
    assert!(!p.original_fk_checks);
    let on_p = p.rules_for("p", Event::Delete).expect("rules for p");
    assert_eq!(on_p.key_columns, vec!["id", "code"]);
    let kinds: Vec<(String, String)> = on_p
        .actions
        .iter()
        .map(|a| {
            let what = match &a.kind {
                ActionKind::Refuse { probe, error, .. } => format!("{} => {}", probe.text(), error.code),
                ActionKind::Delete { statement } => statement.text(),
                ActionKind::Update { statement, .. } => statement.text(),
            };
            (a.fk.name.clone(), what)
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                "c_p_fk".to_string(),
                "DELETE FROM `c` WHERE `p_id` IN (<keys>)".to_string()
            ),
            (
                "r_p_fk".to_string(),
                "SELECT DISTINCT `p_code` FROM `r` WHERE `p_code` IN (<keys>) LOCK IN SHARE MODE => 1451".to_string()
            ),
        ]
    );
    // c's rows are read (g depends on them); g's are not needed: nothing depends on
    // them and g is in no cycle.
    let cascade = &on_p.actions[0];
    assert_eq!(
        cascade.read.as_ref().map(|t| t.text()).as_deref(),
        Some("SELECT `id`, `p_id` FROM `c` WHERE `p_id` IN (<keys>) FOR UPDATE")
    );
    assert_eq!(cascade.fk.parent_positions, vec![0]);
    let on_c = p.rules_for("c", Event::Delete).expect("rules for c");
    match &on_c.actions[0].kind {
        ActionKind::Update { statement, new } => {
            assert_eq!(
                statement.text(),
                "UPDATE `g` SET `c_id` = NULL WHERE `c_id` IN (<keys>)"
            );
            assert_eq!(*new, NewChildValue::Null);
        }
        other => panic!("{other:?}"),
    }
    assert!(on_c.actions[0].read.is_none());
    // The RESTRICT error carries MariaDB's exact message.
    match &on_p.actions[1].kind {
        ActionKind::Refuse { error, .. } => assert_eq!(
            error.message,
            "Cannot delete or update a parent row: a foreign key constraint fails (`shop`.`r`, CONSTRAINT `r_p_fk` FOREIGN KEY (`p_code`) REFERENCES `p` (`code`) ON UPDATE NO ACTION)"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn update_evaluates_new_keys_in_the_lock_read() {
    let p = planned("UPDATE p SET code = code + 1, id = code * 10 WHERE id > 3");
    // Later assignments see earlier ones: id's new value uses the new code, as the
    // INT column stores it (review r26b F1).
    assert_eq!(
        p.start,
        Start::Update {
            read:
                "SELECT `id`, `code`, ((CAST(LEAST(GREATEST(ROUND((code + 1)), -2147483648), 2147483647) AS SIGNED)) \
                   * 10), (code + 1) FROM p WHERE id > 3 FOR UPDATE"
                    .into()
        }
    );
    let on_p = p.rules_for("p", Event::Update).expect("rules");
    match &on_p.actions[0].kind {
        ActionKind::Update { statement, new } => {
            assert_eq!(
                statement.text(),
                "UPDATE `c` SET `p_id` = <new value 1> WHERE `p_id` IN (<keys>) ORDER BY <the keys' order>"
            );
            assert_eq!(*new, NewChildValue::Cascade);
        }
        other => panic!("{other:?}"),
    }
    let filled = match &on_p.actions[0].kind {
        ActionKind::Update { statement, .. } => statement.render(
            &["p_id".to_string()],
            &[vec!["1".into()], vec!["2".into()]],
            &[vec!["10".into()], vec!["20".into()]],
        ),
        _ => unreachable!(),
    };
    assert_eq!(
        filled,
        "UPDATE `c` SET `p_id` = CASE `p_id` WHEN 1 THEN 10 WHEN 2 THEN 20 ELSE `p_id` END WHERE `p_id` IN (1, 2) ORDER BY FIELD(`p_id`, 1, 2)"
    );
    assert!(p.prefix.is_some());
}

#[test]
fn multi_column_keys_render_as_row_constructors() {
    let p = planned("DELETE FROM m WHERE x = 1");
    let on_m = p.rules_for("m", Event::Delete).expect("rules");
    match &on_m.actions[0].kind {
        ActionKind::Delete { statement } => assert_eq!(
            statement.render(
                &["x".to_string(), "y".to_string()],
                &[vec!["1".into(), "2".into()], vec!["1".into(), "'a'".into()]],
                &[]
            ),
            "DELETE FROM `mc` WHERE (`x`, `y`) IN ((1, 2), (1, 'a'))"
        ),
        other => panic!("{other:?}"),
    }
    let p = planned("UPDATE m SET y = y + 1");
    let on_m = p.rules_for("m", Event::Update).expect("rules");
    match &on_m.actions[0].kind {
        ActionKind::Update { statement, .. } => assert_eq!(
            statement.render(
                &["x".to_string(), "y".to_string()],
                &[vec!["1".into(), "2".into()]],
                &[vec!["1".into(), "3".into()]]
            ),
            "SET STATEMENT sql_mode = CONCAT(@@sql_mode, ',SIMULTANEOUS_ASSIGNMENT') FOR UPDATE `mc` SET `x` = CASE WHEN (`x`, `y`) = (1, 2) THEN 1 ELSE `x` END, `y` = CASE WHEN (`x`, `y`) = (1, 2) THEN 3 ELSE `y` END WHERE (`x`, `y`) IN ((1, 2)) ORDER BY CASE WHEN (`x`, `y`) = (1, 2) THEN 0 END"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn self_references_reach_their_own_rules() {
    let p = planned("DELETE FROM tree WHERE id = 1");
    assert_eq!(p.rules.len(), 1, "one rule set serves every level");
    let on_tree = &p.rules[0];
    assert_eq!(on_tree.table, "tree");
    assert!(on_tree.actions[0].read.is_some(), "each level's rows feed the next");
}

#[test]
fn statements_without_parent_side_work_pass_through() {
    for sql in [
        "UPDATE g SET id = 3 WHERE c_id = 1",
        "UPDATE p SET id = id WHERE FALSE AND id = 0 AND 1 = 0",
        "DELETE FROM g WHERE id = 1",
        "INSERT INTO lone VALUES (1)",
        "INSERT INTO p VALUES (1, 2) ON DUPLICATE KEY UPDATE p.id = p.id",
    ] {
        let p = planned(sql);
        if sql.starts_with("UPDATE p") || sql.contains("DUPLICATE") {
            assert!(!p.is_passthrough(), "{sql} changes a referenced key");
        } else {
            assert!(p.is_passthrough(), "{sql}");
        }
    }
    for sql in [
        "SELECT * FROM p",
        "SET foreign_key_checks = 0",
        "CREATE TABLE x (id INT)",
        "DELETE FROM nowhere",
    ] {
        assert_eq!(plan(sql, &schema(), "shop"), Ok(Analysis::Forward), "{sql}");
    }
}

#[test]
fn replace_reads_rows_clashing_on_any_unique_key() {
    let p = planned("REPLACE INTO p (id, code) VALUES (1, 10), (2, 20)");
    assert_eq!(
        p.start,
        Start::Delete {
            read: "SELECT `id`, `code` FROM `p` WHERE `id` IN (1, 2) OR `code` IN (10, 20) FOR UPDATE".into()
        }
    );
}

/// A DELETE / UPDATE with LIMIT finds its rows first (a trial DELETE ...
/// RETURNING), then runs on them by primary key; `SET col = DEFAULT` reads
/// `DEFAULT(col)`.
#[test]
fn limit_statements_pick_their_rows_and_default_is_read_as_the_default() {
    let Ok(Analysis::Plan(p)) = plan("DELETE FROM p WHERE id > 1 LIMIT 2", &schema(), "shop") else {
        panic!("no plan");
    };
    let pick = p.pick.expect("a pick");
    assert_eq!(
        pick.trial.as_deref(),
        Some("DELETE FROM p WHERE id > 1 LIMIT 2 RETURNING `id`")
    );
    assert!(pick.trial_checks);
    assert_eq!(
        pick.original.text(),
        "DELETE FROM p WHERE `id` IN (<keys>) ORDER BY <the keys' order>"
    );
    let Ok(Analysis::Plan(p)) = plan("UPDATE p SET id = DEFAULT WHERE id = 1", &schema(), "shop") else {
        panic!("no plan");
    };
    assert!(p.pick.is_none());
    let Start::Update { read } = &p.start else {
        panic!("{:?}", p.start)
    };
    assert!(read.contains("(DEFAULT(`id`))"), "{read}");
}

#[test]
fn unplannable_writes_are_refused_clearly() {
    let e = plan("UPDATE c SET (id, p_id) = (1, 2)", &schema(), "shop").expect_err("tuple");
    assert_eq!(
        e.to_string(),
        "tether: a tuple assignment is not supported in a managed keyspace (table `c` has foreign keys)"
    );
    let e = plan("SELECT 1; DELETE FROM p WHERE id = 1", &schema(), "shop").expect_err("several");
    assert_eq!(e, PlanError::Several);
    assert!(!e.to_string().contains('?'), "{e}");
    let e = plan("UPDATE p SET id = 9 WHERE", &schema(), "shop").expect_err("bad SQL");
    assert!(matches!(e, PlanError::Parse(_)), "{e:?}");
    assert_eq!(
        plan("DELETE lone FROM lone JOIN m", &schema(), "shop"),
        Ok(Analysis::Forward)
    );
}

#[test]
fn multi_table_delete_reads_every_target_over_the_join() {
    let p = planned("DELETE p, c FROM p JOIN c ON c.p_id = p.id WHERE p.code = 'x'");
    assert!(p.native_first);
    let Start::Multi { targets } = &p.start else {
        panic!("{:?}", p.start)
    };
    let reads: Vec<(&str, &str, Option<Vec<String>>, bool)> = targets
        .iter()
        .map(|t| (t.table.as_str(), t.read.as_str(), t.by_key.clone(), t.parent))
        .collect();
    assert_eq!(
        reads,
        vec![
            (
                "p",
                "SELECT DISTINCT `p`.`id`, `p`.`code` FROM p JOIN c ON c.p_id = p.id WHERE p.code = 'x' FOR UPDATE",
                Some(vec!["id".to_string()]),
                true
            ),
            (
                "c",
                "SELECT DISTINCT `c`.`id` FROM p JOIN c ON c.p_id = p.id WHERE p.code = 'x' FOR UPDATE",
                Some(vec!["id".to_string()]),
                true
            ),
        ]
    );
    let rules: Vec<(&str, Event)> = p.rules.iter().map(|r| (r.table.as_str(), r.event)).collect();
    assert_eq!(rules, vec![("p", Event::Delete), ("c", Event::Delete)]);
    // The USING form, with aliases.
    let p = planned("DELETE FROM x USING c AS x JOIN p AS y ON y.id = x.p_id WHERE y.code = 3");
    let Start::Multi { targets } = &p.start else {
        panic!("{:?}", p.start)
    };
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].table.as_str(), targets[0].read.as_str()),
        (
            "c",
            "SELECT DISTINCT `x`.`id` FROM c AS x JOIN p AS y ON y.id = x.p_id WHERE y.code = 3 FOR UPDATE"
        )
    );
    // Only child rows deleted: nothing cascades, InnoDB checks nothing.
    let p = planned("DELETE FROM x USING g AS x JOIN c AS y ON y.id = x.c_id WHERE y.p_id = 3");
    assert!(p.is_passthrough(), "{p:?}");
}

#[test]
fn multi_table_update_reads_old_and_new_keys_over_the_join() {
    // Comma-joined tables are planned in their JOIN spelling; the client's text runs.
    let sql = "UPDATE p a, c SET a.id = a.id + c.id, c.p_id = 7 WHERE c.p_id = a.id";
    let p = planned(sql);
    assert_eq!(p.original, sql);
    assert!(p.native_first);
    let Start::Multi { targets } = &p.start else {
        panic!("{:?}", p.start)
    };
    assert_eq!(targets.len(), 1);
    assert_eq!(
        (targets[0].table.as_str(), targets[0].event, targets[0].read.as_str()),
        (
            "p",
            Event::Update,
            "SELECT DISTINCT `a`.`id`, `a`.`code`, (a.id + c.id), `a`.`code` FROM p a JOIN c WHERE c.p_id = a.id FOR UPDATE"
        )
    );
    assert_eq!(p.rules[0].table, "p");
    // No referenced key changes: InnoDB checks the FK columns written.
    let p = planned("UPDATE c JOIN p ON p.id = c.p_id SET c.p_id = 5 WHERE p.code = 1");
    assert!(p.is_passthrough(), "{p:?}");
    assert!(p.original_fk_checks);
}

#[test]
fn multi_table_update_of_two_parents_is_planned_when_their_changes_commute() {
    // p's re-key cascades to c.p_id; c's re-key reaches only its RESTRICT child.
    let p = planned("UPDATE p JOIN c ON c.p_id = p.id SET p.id = p.id + 1, c.id = c.id + 1");
    let Start::Multi { targets } = &p.start else {
        panic!("{:?}", p.start)
    };
    let tables: Vec<&str> = targets.iter().map(|t| t.table.as_str()).collect();
    assert_eq!(tables, vec!["p", "c"]);
    // c.p_id is changed by the statement and by p's cascade: only a row-by-row
    // run composes the two, so InnoDB runs it.
    let p = planned("UPDATE p JOIN c ON c.p_id = p.id SET p.id = p.id + 1, c.id = c.id + 1, c.p_id = 3");
    assert!(p.is_passthrough(), "{p:?}");
    assert!(p.original_fk_checks);
}

#[test]
fn replace_select_reads_the_new_rows_then_the_rows_they_replace() {
    let p = planned("REPLACE INTO p (code, id) SELECT code + 1, id FROM p WHERE id < 3;");
    assert!(p.native_first);
    assert_eq!(
        p.start,
        Start::ReplaceSelect(ReplaceSource {
            query: "SELECT code + 1, id FROM p WHERE id < 3".into(),
            keys: vec![
                (vec!["id".to_string()], vec![KeyValue::Column(1)]),
                (vec!["code".to_string()], vec![KeyValue::Column(0)]),
            ],
            read: "SELECT `id`, `code` FROM `p` WHERE ".into(),
        })
    );
    assert_eq!(p.rules[0].table, "p");
    assert_eq!(p.rules[0].event, Event::Delete);
}

#[test]
fn multi_row_upsert_of_a_referenced_key_runs_row_by_row() {
    let p = planned("INSERT INTO p VALUES (1, 10), (2, 'x') ON DUPLICATE KEY UPDATE id = id + 100");
    assert!(p.native_first);
    let steps: Vec<&str> = p.steps.iter().map(|s| s.original.as_str()).collect();
    assert_eq!(
        steps,
        vec![
            "INSERT INTO `p` VALUES (1, 10) ON DUPLICATE KEY UPDATE id = IFNULL((id + 100), 0)",
            "INSERT INTO `p` VALUES (2, 'x') ON DUPLICATE KEY UPDATE id = IFNULL((id + 100), 0)",
        ]
    );
    assert!(matches!(p.steps[0].start, Start::Update { .. }));
    assert!(!p.is_passthrough());
}

#[test]
fn insert_set_into_a_parent_is_planned_in_its_values_spelling() {
    let sql = "REPLACE INTO p SET code = 5, id = 1";
    let p = planned(sql);
    assert_eq!(p.original, sql);
    assert_eq!(
        p.start,
        Start::Delete {
            read: "SELECT `id`, `code` FROM `p` WHERE `id` IN (1) OR `code` IN (5) FOR UPDATE".into()
        }
    );
}

#[test]
fn insert_set_with_an_upsert_is_planned_as_its_values_spelling() {
    let set = planned("INSERT INTO p SET id = 1, code = 2 ON DUPLICATE KEY UPDATE id = VALUES(id) + 1");
    let values = planned("INSERT INTO p (id, code) VALUES (1, 2) ON DUPLICATE KEY UPDATE id = VALUES(id) + 1");
    assert_eq!(
        set.original,
        "INSERT INTO p SET id = 1, code = 2 ON DUPLICATE KEY UPDATE id = VALUES(id) + 1"
    );
    assert_eq!(
        Plan {
            original: values.original.clone(),
            ..set
        },
        values
    );
}

/// (A NOT NULL column's new value is wrapped in `IFNULL(.., 0)`: the multi-row
/// statement stores a NULL as the implicit default outside strict mode.)
#[test]
fn upsert_steps_carry_the_clients_own_text() {
    let p = planned(
        "INSERT INTO shop.p (Code, ID) VALUES ('a''b', 1), (-2, /* two */ 2) ON DUPLICATE KEY UPDATE p.id = VALUES(id) + 100",
    );
    let steps: Vec<&str> = p.steps.iter().map(|s| s.original.as_str()).collect();
    assert_eq!(
        steps,
        vec![
            "INSERT INTO `p` (`code`, `id`) VALUES ('a''b', 1) ON DUPLICATE KEY UPDATE p.id = IFNULL((VALUES(id) + 100), 0)",
            "INSERT INTO `p` (`code`, `id`) VALUES (-2, 2) ON DUPLICATE KEY UPDATE p.id = IFNULL((VALUES(id) + 100), 0)",
        ]
    );
    assert_eq!(
        p.steps[1].start,
        Start::Update {
            read: "SELECT `id`, `code`, (IFNULL(((2) + 100), 0)), `code`, COALESCE(`id` IN (2), 0), \
                   COALESCE(`code` IN (-2), 0) \
                   FROM `p` WHERE `id` IN (2) OR `code` IN (-2) FOR UPDATE"
                .into()
        }
    );
}

#[test]
fn cascaded_updates_keep_timestamps() {
    use FkAction::*;
    let mut child = table(
        "c",
        &["id", "p_id", "changed"],
        &["id"],
        vec![fk("c_p_fk", &["p_id"], "p", &["id"], SetNull, Cascade)],
    );
    child.columns[2].engine_type = "timestamp".into();
    let schema = Schema {
        engine: tether_schema::Engine::Mysql,
        default_schema: None,
        objects: Default::default(),
        tables: vec![table("p", &["id"], &["id"], vec![]), child],
    };
    let texts = |sql: &str| -> Vec<String> {
        let Ok(Analysis::Plan(p)) = plan(sql, &schema, "shop") else {
            panic!("{sql}")
        };
        p.rules[0]
            .actions
            .iter()
            .map(|a| match &a.kind {
                ActionKind::Update { statement, .. } => statement.text(),
                other => panic!("{other:?}"),
            })
            .collect()
    };
    // InnoDB's cascades leave ON UPDATE CURRENT_TIMESTAMP columns alone.
    assert_eq!(
        texts("UPDATE p SET id = 2"),
        vec![
            "UPDATE `c` SET `p_id` = <new value 1>, `changed` = `changed` WHERE `p_id` IN (<keys>) ORDER BY <the keys' order>"
        ]
    );
    assert_eq!(
        texts("DELETE FROM p"),
        vec!["UPDATE `c` SET `p_id` = NULL, `changed` = `changed` WHERE `p_id` IN (<keys>)"]
    );
}

#[test]
fn explain_lists_steps_and_rules() {
    let text = planned("DELETE FROM p WHERE id = 1").to_string();
    let expected = "\
1. BEGIN (or SAVEPOINT inside a transaction)
2. lock and read rows deleted from `p`: SELECT `id`, `code` FROM p WHERE id = 1 FOR UPDATE
3. apply `p` on delete rules to them (below)
4. all checks passed: SET foreign_key_checks = 0; DELETE FROM p WHERE id = 1
5. the child statements in rule order; SET foreign_key_checks = 1
6. COMMIT (or RELEASE SAVEPOINT); on any error ROLLBACK (TO SAVEPOINT)

on delete of `p` (rows carry `id`, `code`):
  c.c_p_fk (`p_id`) CASCADE: DELETE FROM `c` WHERE `p_id` IN (<keys>)
    first lock and read the child rows: SELECT `id`, `p_id` FROM `c` WHERE `p_id` IN (<keys>) FOR UPDATE
  r.r_p_fk (`p_code`) RESTRICT: check SELECT DISTINCT `p_code` FROM `r` WHERE `p_code` IN (<keys>) LOCK IN SHARE MODE -> error 1451 if a row

on delete of `c` (rows carry `id`):
  g.g_c_fk (`c_id`) SET NULL: UPDATE `g` SET `c_id` = NULL WHERE `c_id` IN (<keys>)
";
    assert_eq!(text, expected);
}

#[test]
fn child_writes_check_their_parents_with_one_probe_per_fk() {
    // A multi-row INSERT: the VALUES rows are the rows to check; the self-reference
    // also carries the referenced column, so a row inserted is a parent of later ones.
    let p = planned("INSERT INTO tree VALUES (1, NULL), (2, 1), (3, '2')");
    assert!(!p.is_passthrough());
    assert!(!p.original_fk_checks);
    assert_eq!(p.start, Start::Nothing);
    let checks = p.parent_checks.as_ref().expect("parent checks");
    assert_eq!(checks.columns, vec!["parent_id", "id"]);
    let some = |v: &[&str]| v.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>();
    assert_eq!(
        checks.rows,
        NewRows::Values(vec![some(&["NULL", "1"]), some(&["1", "2"]), some(&["'2'", "3"])])
    );
    let check = &checks.checks[0];
    assert_eq!(check.positions, vec![0]);
    assert_eq!(check.own_positions, Some(vec![1]));
    assert_eq!(
        check.probe.text(),
        "SELECT `id` FROM `tree` WHERE `id` IN (<keys>) LOCK IN SHARE MODE"
    );
    assert_eq!(
        check
            .probe
            .render(&["id".to_string()], &[vec!["1".into()], vec!["'2'".into()]], &[]),
        "SELECT `id` FROM `tree` WHERE `id` IN (1, '2') LOCK IN SHARE MODE"
    );
    assert_eq!(check.error.code, 1452);
    assert_eq!(
        check.error.message,
        "Cannot add or update a child row: a foreign key constraint fails (`shop`.`tree`, CONSTRAINT `tree_fk` FOREIGN KEY (`parent_id`) REFERENCES `tree` (`id`) ON DELETE CASCADE)"
    );

    assert!(check.keys_only, "integer keys come back and compare by value");
    // Other types are compared by the server: the probe says which keys a parent matches.
    let mut text_schema = schema();
    for c in &mut text_schema.tables[0].columns {
        if c.name == "code" {
            c.normalized_type = DataType::Varchar { length: Some(2) };
        }
    }
    let Ok(Analysis::Plan(p)) = plan("INSERT INTO r VALUES (1, 'EU')", &text_schema, "shop") else {
        panic!("a plan")
    };
    let check = &p.parent_checks.as_ref().expect("checks").checks[0];
    assert!(!check.keys_only);
    assert_eq!(
        check
            .probe
            .render(&["code".to_string()], &[vec!["'EU'".into()], vec!["'us'".into()]], &[]),
        "SELECT CONCAT_WS(',', IF(`code` = 'EU', 0, NULL), IF(`code` = 'us', 1, NULL)) FROM `p` WHERE `code` IN ('EU', 'us') LOCK IN SHARE MODE"
    );
    // A composite FK renders row constructors.
    let p = planned("INSERT INTO mc (id, x, y) VALUES (1, 2, 3)");
    let check = &p.parent_checks.as_ref().expect("checks").checks[0];
    assert_eq!(
        check.probe.render(
            &["x".to_string(), "y".to_string()],
            &[vec!["2".into(), "3".into()]],
            &[]
        ),
        "SELECT `x`, `y` FROM `m` WHERE (`x`, `y`) IN ((2, 3)) LOCK IN SHARE MODE"
    );
    assert_eq!(check.own_positions, None);

    // An UPDATE of an FK column: the lock read evaluates the new values after the keys.
    let p = planned("UPDATE c SET p_id = p_id + 1 WHERE id = 1");
    assert_eq!(
        p.start,
        Start::Update {
            read: "SELECT `id`, `id`, `p_id`, (p_id + 1) FROM c WHERE id = 1 FOR UPDATE".into()
        }
    );
    assert!(p.rules.is_empty(), "no referenced key changes");
    assert_eq!(p.parent_checks.as_ref().map(|c| &c.rows), Some(&NewRows::Read));

    // ON DUPLICATE KEY UPDATE of one row: the clashing row and its new values, else the row.
    let p = planned("INSERT INTO c VALUES (1, 2) ON DUPLICATE KEY UPDATE p_id = VALUES(p_id) + 1");
    assert_eq!(
        p.start,
        Start::Update {
            read: "SELECT `id`, `id`, `p_id`, ((2) + 1) FROM `c` WHERE `id` IN (1) FOR UPDATE".into()
        }
    );
    assert_eq!(
        p.parent_checks.as_ref().map(|c| &c.rows),
        Some(&NewRows::ReadOrValues(vec![Some("2".into())]))
    );
}

#[test]
fn rows_the_planner_cannot_compute_keep_innodb_checks() {
    for sql in [
        "INSERT INTO c SELECT id, id FROM p",
        "INSERT IGNORE INTO c VALUES (1, 2)",
        "INSERT INTO c VALUES (1, 1 + 1)",
        "INSERT INTO c VALUES (1, 2), (2, 3) ON DUPLICATE KEY UPDATE p_id = 1",
    ] {
        let p = planned(sql);
        assert!(p.is_passthrough(), "{sql}");
        assert!(p.original_fk_checks, "{sql}");
    }
    // A value the lock read and the statement would compute differently.
    for sql in [
        "UPDATE c SET p_id = FLOOR(RAND() * 10) WHERE id = 1",
        "UPDATE c SET p_id = @next WHERE id = 1",
        "INSERT INTO c VALUES (1, 2) ON DUPLICATE KEY UPDATE p_id = UNIX_TIMESTAMP() % 7",
    ] {
        let p = planned(sql);
        assert!(p.parent_checks.is_none(), "{sql}");
        assert!(p.original_fk_checks, "{sql}");
    }
    assert!(planned("UPDATE c SET p_id = p_id * 2 + (SELECT 1) WHERE id = 1")
        .parent_checks
        .is_some());
    // Several REPLACE rows into a table of an FK cycle: the parent side is planned,
    // InnoDB checks the new rows (a later row's delete may cascade to an earlier one).
    let p = planned("REPLACE INTO tree VALUES (1, NULL), (2, 1)");
    assert!(p.parent_checks.is_none());
    assert!(p.original_fk_checks);
    // The gateway checks the new rows' parents; a REPLACE into a parent table still
    // runs with InnoDB's checks (a row its read missed takes its children along).
    for (sql, innodb_checks) in [
        ("REPLACE INTO tree VALUES (2, 1)", true),
        ("REPLACE INTO c VALUES (1, 2), (2, 3)", true),
        ("REPLACE INTO r VALUES (1, 2), (2, 3)", false),
    ] {
        let p = planned(sql);
        assert!(p.parent_checks.is_some(), "{sql}");
        assert_eq!(p.original_fk_checks, innodb_checks, "{sql}");
    }
}

#[test]
fn explain_shows_the_parent_probes() {
    let text = planned("INSERT INTO c VALUES (1, 2), (2, NULL)").to_string();
    let expected = "\
1. BEGIN (or SAVEPOINT inside a transaction)
2. check the parents of the rows written to `c` (below); the first row without one fails with 1452, or with the error MariaDB meets first going row by row (the original replayed with InnoDB's checks, then rolled back)
3. all checks passed: SET foreign_key_checks = 0; INSERT INTO c VALUES (1, 2), (2, NULL); SET foreign_key_checks = 1
4. COMMIT (or RELEASE SAVEPOINT); on any error ROLLBACK (TO SAVEPOINT)

parents of the rows written to `c` (the VALUES rows; a NULL in an FK skips its check; parents the statement deletes, re-keys or inserts count from that row on):
  c.c_p_fk (`p_id`) -> `p` (`id`): SELECT `id` FROM `p` WHERE `id` IN (<keys>) LOCK IN SHARE MODE -> error 1452 for a key no row matches
";
    assert_eq!(text, expected);
}

#[test]
fn explain_an_upsert_of_an_fk_column() {
    let text = planned("INSERT INTO c VALUES (1, 2) ON DUPLICATE KEY UPDATE p_id = 5").to_string();
    let expected = "\
1. BEGIN (or SAVEPOINT inside a transaction)
2. lock and read old and new values of `c`: SELECT `id`, `id`, `p_id`, (5) FROM `c` WHERE `id` IN (1) FOR UPDATE
3. check the parents of the rows written to `c` (below); the first row without one fails with 1452, or with the error MariaDB meets first going row by row (the original replayed with InnoDB's checks, then rolled back)
4. all checks passed: SET foreign_key_checks = 0; INSERT INTO c VALUES (1, 2) ON DUPLICATE KEY UPDATE p_id = 5; SET foreign_key_checks = 1
5. COMMIT (or RELEASE SAVEPOINT); on any error ROLLBACK (TO SAVEPOINT)

parents of the rows written to `c` (the clashing row's new values from the lock read where an FK's columns change, else the VALUES row; a NULL in an FK skips its check; parents the statement deletes, re-keys or inserts count from that row on):
  c.c_p_fk (`p_id`) -> `p` (`id`): SELECT `id` FROM `p` WHERE `id` IN (<keys>) LOCK IN SHARE MODE -> error 1452 for a key no row matches
";
    assert_eq!(text, expected);
}

#[test]
fn explain_a_multi_table_delete() {
    let text = planned("DELETE p, c FROM p JOIN c ON c.p_id = p.id WHERE p.id = 1").to_string();
    let steps: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    assert_eq!(
        steps,
        vec![
            "1. BEGIN (or SAVEPOINT inside a transaction)",
            "2. lock and read rows deleted from `p`: SELECT DISTINCT `p`.`id`, `p`.`code` FROM p JOIN c ON c.p_id = p.id WHERE p.id = 1 FOR UPDATE",
            "3. lock and read rows deleted from `c`: SELECT DISTINCT `c`.`id` FROM p JOIN c ON c.p_id = p.id WHERE p.id = 1 FOR UPDATE",
            "4. SAVEPOINT; the original with InnoDB's checks (its error or rows affected is the result); which of the rows read it deleted; ROLLBACK TO SAVEPOINT; on success the rest runs without checks of its own",
            "5. apply their rules (below)",
            "6. all checks passed: SET foreign_key_checks = 0; per table, DELETE the rows the native run deleted, by primary key",
            "7. the child statements in rule order; SET foreign_key_checks = 1",
            "8. COMMIT (or RELEASE SAVEPOINT); on any error ROLLBACK (TO SAVEPOINT)",
        ]
    );
}

/// Evaluates `IF(`k` < n, .., ..)` trees for the value `k` of the key column, down
/// to leaves `v`.
fn search_value(expr: &str, k: i64) -> i64 {
    let Some(rest) = expr.strip_prefix("IF(`k` < ") else {
        return expr.parse().unwrap_or_else(|_| panic!("not a search: {expr}"));
    };
    let (bound, rest) = rest.split_once(", ").expect("bound");
    let body = rest.strip_suffix(')').expect("closing parenthesis");
    // The lower branch ends at the comma of the same depth.
    let mut depth = 0;
    let mut split = None;
    for (i, ch) in body.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                split = Some(i);
                break;
            }
            _ => {}
        }
    }
    let split = split.expect("upper branch");
    let (lower, upper) = (&body[..split], &body[split + ", ".len()..]);
    if k < bound.parse::<i64>().expect("bound") {
        search_value(lower, k)
    } else {
        search_value(upper, k)
    }
}

#[test]
fn many_integer_keys_are_searched_by_halves() {
    let template = Template {
        parts: vec![
            Part::Text("SET `k` = ".into()),
            Part::NewValue(0),
            Part::Text(" ORDER BY ".into()),
            Part::Order,
        ],
    };
    let columns = ["k".to_string()];
    let render = |keys: &[i64]| {
        let old: Vec<Vec<String>> = keys.iter().map(|k| vec![k.to_string()]).collect();
        let new: Vec<Vec<String>> = keys.iter().map(|k| vec![(k * 10).to_string()]).collect();
        template.render(&columns, &old, &new)
    };
    // Keys in no order: each maps to its own new value, and orders by its position.
    let keys: Vec<i64> = (0..40).map(|i| (i * 17) % 40 - 20).collect();
    let sql = render(&keys);
    let (set, order) = sql
        .strip_prefix("SET `k` = ")
        .and_then(|s| s.split_once(" ORDER BY "))
        .expect("shape");
    for (i, k) in keys.iter().enumerate() {
        assert_eq!(search_value(set, *k), k * 10, "new value of {k}");
        assert_eq!(search_value(order, *k), i as i64, "position of {k}");
    }
    // One comparison per halving.
    assert_eq!(set.matches("IF(`k` < ").count(), keys.len() - 1);
    assert!(set.starts_with("IF(`k` < 0, IF(`k` < -10, "), "{set}");
    // Keys in ascending or descending order: the column's own order.
    let ascending: Vec<i64> = (1..=16).collect();
    assert!(render(&ascending).ends_with(" ORDER BY `k`"));
    let descending: Vec<i64> = (1..=16).rev().collect();
    assert!(render(&descending).ends_with(" ORDER BY `k` DESC"));
    // Fewer keys, text keys: one WHEN per key, as ever.
    assert_eq!(
        render(&[2, 1]),
        "SET `k` = CASE `k` WHEN 2 THEN 20 WHEN 1 THEN 10 ELSE `k` END ORDER BY FIELD(`k`, 2, 1)"
    );
    let text: Vec<Vec<String>> = (0..16).map(|i| vec![format!("'{i}'")]).collect();
    let sql = template.render(&columns, &text, &text);
    assert!(sql.contains(" ORDER BY FIELD(`k`, '0', '1', "), "{sql}");
    assert!(
        sql.starts_with("SET `k` = CASE `k` WHEN '0' THEN '0' WHEN '1' THEN '1' "),
        "{sql}"
    );
}

#[test]
fn many_two_column_integer_keys_are_searched_as_rows() {
    let template = Template {
        parts: vec![Part::NewValue(1), Part::Text(" / ".into()), Part::Order],
    };
    let columns = ["a".to_string(), "b".to_string()];
    let keys: Vec<Vec<String>> = (0..16)
        .map(|i| vec![(i % 2).to_string(), (15 - i).to_string()])
        .collect();
    let new: Vec<Vec<String>> = (0..16).map(|i| vec!["0".to_string(), (100 + i).to_string()]).collect();
    let sql = template.render(&columns, &keys, &new);
    // Sorted as rows: (0, 1), (0, 3), ... (0, 15), (1, 0), ...; the middle one is
    // (1, 0). Each leaf checks its key, as a `WHEN` (`a` may already be new).
    assert!(
        sql.starts_with("IF((`a`, `b`) < (1, 0), IF((`a`, `b`) < (0, 9), "),
        "{sql}"
    );
    assert!(sql.contains("IF((`a`, `b`) = (0, 1), 114, `b`)"), "{sql}");
    assert_eq!(sql.matches(") = (").count(), 16, "{sql}");
    assert!(sql.contains(" / IF((`a`, `b`) < (1, 0), "), "{sql}");
}

/// ON DUPLICATE KEY UPDATE whose new row may clash with different rows on the
/// primary key and a unique key: the read returns every clashing row with one flag
/// per index, for the executor to keep the row InnoDB updates. Values a `WHERE`
/// would compare other than the index stores them leave the statement to InnoDB.
#[test]
fn upserts_read_every_clashing_row_and_on_which_index() {
    let p = planned("INSERT INTO p VALUES (1, 10) ON DUPLICATE KEY UPDATE id = id + 100");
    assert_eq!(
        p.start,
        Start::Update {
            read: "SELECT `id`, `code`, (id + 100), `code`, COALESCE(`id` IN (1), 0), COALESCE(`code` IN (10), 0) \
                   FROM `p` WHERE `id` IN (1) OR `code` IN (10) FOR UPDATE"
                .into()
        }
    );
    let clash = p.clash.expect("a clash to resolve");
    assert_eq!(clash.indexes, ["PRIMARY", "p_code"]);
    assert_eq!(clash.flags, ["PRIMARY", "p_code"]);
    assert!(!p.allocates);
    // A NULL clashes with nothing: one index left, one row at most, integers only.
    let p = planned("INSERT INTO p VALUES (1, NULL) ON DUPLICATE KEY UPDATE id = id + 100");
    assert_eq!(p.clash, None);
    assert!(matches!(&p.start, Start::Update { read } if read.ends_with("FROM `p` WHERE `id` IN (1) FOR UPDATE")));
    // The server would convert these before comparing: InnoDB runs them.
    for sql in [
        "INSERT INTO p VALUES (2.5, 10) ON DUPLICATE KEY UPDATE id = id + 100",
        "INSERT INTO p VALUES (1 + 1, 10) ON DUPLICATE KEY UPDATE id = id + 100",
        "INSERT INTO p VALUES ('2x', 10) ON DUPLICATE KEY UPDATE id = id + 100",
        "INSERT INTO p VALUES (1, 10) ON DUPLICATE KEY UPDATE id = FLOOR(RAND() * 100)",
        "REPLACE INTO p VALUES (1, 10.0)",
        // Out of INT's range, NULL into the NOT NULL key: the server's nearest
        // value or implicit default outside strict mode.
        "REPLACE INTO p VALUES (99999999999, 10)",
        "INSERT INTO p VALUES (NULL, 10) ON DUPLICATE KEY UPDATE id = id + 100",
        "INSERT INTO p VALUES (NULL, 10), (2, 20) ON DUPLICATE KEY UPDATE id = id + 100",
    ] {
        assert!(planned(sql).is_passthrough(), "{sql}");
    }
    // Several rows: one planned statement per row, each reading its own clashes.
    let p = planned("INSERT INTO p VALUES (1, 10), (2, 20) ON DUPLICATE KEY UPDATE id = id + 100");
    assert_eq!(p.steps.len(), 2);
    assert!(p
        .steps
        .iter()
        .all(|s| s.clash.as_ref().is_some_and(|c| c.flags.len() == 2)));
}

/// New keys that change between the lock read and the statement (RAND(), user
/// variables assigned in the SET, sequences) leave the statement to InnoDB; a
/// changing value in a column no FK references does not.
#[test]
fn re_keys_from_changing_values_are_not_read_ahead() {
    for sql in [
        "UPDATE p SET id = FLOOR(RAND() * 100) WHERE id = 1",
        "UPDATE p SET id = (@n := @n + 1) WHERE id < 3",
        "UPDATE p SET code = NEXTVAL(s) WHERE id = 1",
        "INSERT INTO p VALUES (1, 10) ON DUPLICATE KEY UPDATE id = UUID_SHORT()",
        "UPDATE p JOIN c ON c.p_id = p.id SET p.id = RAND() WHERE c.id = 1",
    ] {
        assert!(planned(sql).is_passthrough(), "{sql}");
    }
    let p = planned("UPDATE tree SET id = id + 100, parent_id = FLOOR(RAND() * 3) WHERE id = 1");
    assert!(!p.is_passthrough());
    assert!(p.original_fk_checks, "InnoDB checks the changing FK value");
}

/// Review r26f F4: a DELETE of a table in an FK cycle reads its rows in the order
/// MariaDB deletes them. Without a WHERE on a secondary index's column the DELETE
/// goes in primary-key order (a range of it or a full scan): the read says so (not
/// left to a covering secondary index). A WHERE on an indexed column (FK columns
/// are indexed) or an ORDER BY with ties leaves the order to the optimizer: the
/// outcome comes from a native run. A table outside any cycle reads as before.
#[test]
fn cycle_deletes_read_in_the_order_mariadb_deletes() {
    let read = |p: &Plan| match &p.start {
        Start::Delete { read } => read.clone(),
        other => panic!("expected a DELETE start, got {other:?}"),
    };
    let p = planned("DELETE FROM tree");
    assert_eq!(read(&p), "SELECT `id` FROM tree ORDER BY `id` FOR UPDATE");
    assert!(!p.native_order);
    let p = planned("DELETE FROM tree WHERE id > 3");
    assert_eq!(read(&p), "SELECT `id` FROM tree WHERE id > 3 ORDER BY `id` FOR UPDATE");
    assert!(!p.native_order);
    let p = planned("DELETE FROM tree WHERE parent_id = 3");
    assert_eq!(read(&p), "SELECT `id` FROM tree WHERE parent_id = 3 FOR UPDATE");
    assert!(p.native_order);
    let p = planned("DELETE FROM tree ORDER BY id DESC");
    assert_eq!(read(&p), "SELECT `id` FROM tree ORDER BY id DESC FOR UPDATE");
    assert!(!p.native_order);
    assert!(planned("DELETE FROM tree ORDER BY parent_id").native_order);
    // LIMIT: MariaDB's own run picks the rows, in its order.
    let p = planned("DELETE FROM tree WHERE parent_id = 3 LIMIT 2");
    assert!(p.pick.is_some() && !p.native_order);
    // Outside a cycle the order changes no count.
    let p = planned("DELETE FROM p WHERE code > 3");
    assert_eq!(read(&p), "SELECT `id`, `code` FROM p WHERE code > 3 FOR UPDATE");
    assert!(!p.native_order);
}
