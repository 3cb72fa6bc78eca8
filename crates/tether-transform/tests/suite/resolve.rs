//! FK consistency: transformers flow from referenced columns to every referencing
//! column (several levels, composite keys, a PK that is also an FK, a self-reference,
//! a cycle, a virtual FK), and each child value lands on its parent's transformed value.

use std::collections::HashMap;

use crate::common::*;
use tether_schema::{Schema, Value};
use tether_transform::{build, resolve, Origin, Resolved, RowView, TransformSpec, Via};

fn shop() -> Schema {
    let mut legacy_fk = fk("legacy_log_customer", &["cust"], "customers", &["id"]);
    legacy_fk.is_virtual = true;
    schema(vec![
        table(
            "customers",
            &[("id", "int", false), ("email", "varchar(100)", true)],
            &["id"],
            vec![],
        ),
        table(
            "orders",
            &[("id", "int", false), ("customer_id", "int", false)],
            &["id"],
            vec![fk("orders_customer_fk", &["customer_id"], "customers", &["id"])],
        ),
        table(
            "order_items",
            &[("order_id", "int", false), ("line", "int", false)],
            &["order_id", "line"],
            vec![fk("items_order_fk", &["order_id"], "orders", &["id"])],
        ),
        table(
            "customer_profiles",
            &[("customer_id", "int", false), ("bio", "text", true)],
            &["customer_id"],
            vec![fk("profile_customer_fk", &["customer_id"], "customers", &["id"])],
        ),
        table(
            "profile_photos",
            &[("id", "int", false), ("profile_id", "bigint", false)],
            &["id"],
            vec![fk(
                "photo_profile_fk",
                &["profile_id"],
                "customer_profiles",
                &["customer_id"],
            )],
        ),
        table(
            "accounts",
            &[("region", "varchar(8)", false), ("number", "int", false)],
            &["region", "number"],
            vec![],
        ),
        table(
            "account_notes",
            &[
                ("id", "int", false),
                ("acc_region", "varchar(8)", false),
                ("acc_number", "int", false),
            ],
            &["id"],
            vec![fk(
                "note_account_fk",
                &["acc_region", "acc_number"],
                "accounts",
                &["region", "number"],
            )],
        ),
        table(
            "employees",
            &[("id", "int", false), ("manager_id", "int", true)],
            &["id"],
            vec![fk("employee_manager_fk", &["manager_id"], "employees", &["id"])],
        ),
        table(
            "teams",
            &[("id", "int", false), ("lead_id", "int", false)],
            &["id"],
            vec![fk("team_lead_fk", &["lead_id"], "members", &["id"])],
        ),
        table(
            "members",
            &[("id", "int", false), ("team_id", "int", false)],
            &["id"],
            vec![fk("member_team_fk", &["team_id"], "teams", &["id"])],
        ),
        table(
            "legacy_log",
            &[("id", "int", false), ("cust", "int", true)],
            &["id"],
            vec![legacy_fk],
        ),
    ])
}

fn user_specs() -> Vec<((tether_schema::TableName, String), TransformSpec)> {
    vec![
        at("customers", "id", TransformSpec::new("hash")),
        at("customers", "email", TransformSpec::new("email")),
        at("orders", "id", TransformSpec::new("hash")),
        at("accounts", "region", TransformSpec::new("hash")),
        at(
            "accounts",
            "number",
            TransformSpec::new("hash").with("min", 0).with("max", 999_999),
        ),
        at("employees", "id", TransformSpec::new("hash")),
        at("teams", "id", TransformSpec::new("hash")),
        at("members", "id", TransformSpec::new("hash")),
    ]
}

fn find<'a>(r: &'a [Resolved], table: &str, column: &str) -> &'a Resolved {
    r.iter()
        .find(|x| x.table.name == table && x.column == column)
        .unwrap_or_else(|| panic!("{table}.{column} has no transformer"))
}

fn inherited(r: &Resolved) -> (String, String, String) {
    match &r.origin {
        Origin::Inherited {
            foreign_key,
            from_table,
            from_column,
        } => (foreign_key.clone(), from_table.name.clone(), from_column.clone()),
        Origin::Set => panic!("{}.{} is set, not inherited", r.table.name, r.column),
    }
}

#[test]
fn every_referencing_column_inherits_its_parent_s_transformer() {
    let r = resolve(&shop(), &user_specs()).unwrap();
    let int_hash = "hash(max=2147483647, min=-2147483648)";
    assert_eq!(find(&r, "customers", "id").spec.to_string(), int_hash);
    assert_eq!(find(&r, "customers", "id").origin, Origin::Set);
    let oc = find(&r, "orders", "customer_id");
    assert_eq!(oc.spec.to_string(), int_hash);
    assert_eq!(
        oc.origin.describe(&shop()),
        "inherited through FK `orders_customer_fk` from customers.id"
    );
    assert_eq!(
        inherited(oc),
        ("orders_customer_fk".into(), "customers".into(), "id".into())
    );
    // Several levels: order_items.order_id from orders.id.
    assert_eq!(inherited(find(&r, "order_items", "order_id")).0, "items_order_fk");
    // A PK that is also an FK passes its parent's transformer on.
    let photo = find(&r, "profile_photos", "profile_id");
    assert_eq!(
        inherited(photo),
        (
            "photo_profile_fk".into(),
            "customer_profiles".into(),
            "customer_id".into()
        )
    );
    assert_eq!(
        (photo.root_table.name.as_str(), photo.root_column.as_str()),
        ("customers", "id")
    );
    assert_eq!(
        photo.spec.to_string(),
        int_hash,
        "the bigint child keeps the int parent's range"
    );
    // Composite keys, position by position.
    assert_eq!(inherited(find(&r, "account_notes", "acc_region")).2, "region");
    assert_eq!(
        find(&r, "account_notes", "acc_number").spec.to_string(),
        "hash(max=999999, min=0)"
    );
    // Self-reference, cycle, virtual FK.
    assert_eq!(inherited(find(&r, "employees", "manager_id")).0, "employee_manager_fk");
    assert_eq!(inherited(find(&r, "teams", "lead_id")).0, "team_lead_fk");
    assert_eq!(inherited(find(&r, "members", "team_id")).0, "member_team_fk");
    assert_eq!(inherited(find(&r, "legacy_log", "cust")).0, "legacy_log_customer");
    // Columns without a transformer are not listed.
    assert!(r.iter().all(|x| !(x.table.name == "order_items" && x.column == "line")));
}

/// Builds every resolved transformer and checks, row by row, that each child value is
/// the transformed value of its original parent.
#[test]
fn transformed_children_point_at_their_transformed_parents() {
    let s = shop();
    let r = resolve(&s, &user_specs()).unwrap();
    let seed = seed();
    let mut by_col: HashMap<(String, String), Box<dyn tether_transform::Transformer>> = HashMap::new();
    for x in &r {
        let column = s.table(&x.table).unwrap().column(&x.column).unwrap();
        by_col.insert(
            (x.table.name.clone(), x.column.clone()),
            build(&x.spec, column, &seed).unwrap(),
        );
    }
    let tr = |table: &str, column: &str, v: Value| {
        by_col[&(table.to_string(), column.to_string())]
            .apply(&v, &RowView::EMPTY)
            .unwrap()
    };
    for id in [1i64, 2, 3, 42, 1000, 2_000_000_000] {
        let parent = tr("customers", "id", Value::Int(id));
        assert_ne!(parent, Value::Int(id));
        assert_eq!(tr("orders", "customer_id", Value::Int(id)), parent);
        assert_eq!(tr("customer_profiles", "customer_id", Value::Int(id)), parent);
        assert_eq!(tr("profile_photos", "profile_id", Value::Int(id)), parent);
        assert_eq!(tr("legacy_log", "cust", Value::Int(id)), parent);
        assert_eq!(
            tr("employees", "manager_id", Value::Int(id)),
            tr("employees", "id", Value::Int(id))
        );
        assert_eq!(
            tr("members", "team_id", Value::Int(id)),
            tr("teams", "id", Value::Int(id))
        );
        assert_eq!(
            tr("order_items", "order_id", Value::Int(id)),
            tr("orders", "id", Value::Int(id))
        );
    }
    for (region, number) in [("north", 1i64), ("south", 999_999)] {
        assert_eq!(
            tr("account_notes", "acc_region", text(region)),
            tr("accounts", "region", text(region))
        );
        assert_eq!(
            tr("account_notes", "acc_number", Value::Int(number)),
            tr("accounts", "number", Value::Int(number))
        );
    }
}

#[test]
fn the_same_spec_set_on_a_child_is_accepted_and_a_different_one_is_a_plan_error() {
    let s = shop();
    let mut specs = user_specs();
    specs.push(at("orders", "customer_id", TransformSpec::new("hash")));
    let r = resolve(&s, &specs).unwrap();
    assert_eq!(find(&r, "orders", "customer_id").origin, Origin::Set);

    let mut specs = user_specs();
    specs.push(at(
        "orders",
        "customer_id",
        TransformSpec::new("hash").with("min", 0).with("max", 100),
    ));
    let err = resolve(&s, &specs).unwrap_err();
    assert_eq!(
        err.to_string(),
        "foreign key `orders_customer_fk`: orders.customer_id has transformer hash(max=100, min=0), but it \
         references customers.id whose transformer is hash(max=2147483647, min=-2147483648); an FK column \
         inherits its parent's transformer: remove the one on orders.customer_id or make them equal"
    );
    let mut specs = user_specs();
    specs.push(at("orders", "customer_id", TransformSpec::new("passthrough")));
    assert!(resolve(&s, &specs)
        .unwrap_err()
        .to_string()
        .contains("orders_customer_fk"));
}

#[test]
fn null_on_a_nullable_fk_column_is_fine() {
    let mut specs = user_specs();
    specs.push(at("employees", "manager_id", TransformSpec::new("null")));
    let r = resolve(&shop(), &specs).unwrap();
    assert_eq!(find(&r, "employees", "manager_id").spec.kind, "null");
}

#[test]
fn a_transformed_child_of_an_unchanged_parent_is_a_plan_error() {
    let specs = vec![at("orders", "customer_id", TransformSpec::new("hash"))];
    let err = resolve(&shop(), &specs).unwrap_err();
    assert_eq!(
        err.to_string(),
        "foreign key `orders_customer_fk`: orders.customer_id has transformer hash, but the column it references, \
         customers.id, is copied unchanged, so transformed children would be orphans: set the transformer on \
         customers.id instead"
    );
}

#[test]
fn specs_on_missing_columns_and_bad_specs_name_the_column() {
    let err = resolve(&shop(), &[at("customers", "mail", TransformSpec::new("email"))]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "transformer set on customers.mail, but the table has no column `mail`"
    );
    let err = resolve(&shop(), &[at("clients", "id", TransformSpec::new("hash"))]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "transformer set on clients.id, but table `clients` does not exist"
    );
    let err = resolve(&shop(), &[at("customers", "email", TransformSpec::new("emial"))]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("transformer on customers.email: unknown transformer `emial`"),
        "{err}"
    );
}

/// c.x references both a.id and b.id.
fn two_parents() -> Schema {
    schema(vec![
        table("a", &[("id", "int", false)], &["id"], vec![]),
        table("b", &[("id", "int", false)], &["id"], vec![]),
        table(
            "c",
            &[("x", "int", false)],
            &[],
            vec![fk("c_a", &["x"], "a", &["id"]), fk("c_b", &["x"], "b", &["id"])],
        ),
    ])
}

#[test]
fn a_column_referencing_two_differently_transformed_parents_is_an_error() {
    let s = two_parents();
    let specs = vec![
        at("a", "id", TransformSpec::new("hash")),
        at("b", "id", TransformSpec::new("hash").with("min", 0).with("max", 10)),
    ];
    let err = resolve(&s, &specs).unwrap_err().to_string();
    assert!(err.contains("c_a") && err.contains("c_b"), "{err}");
}

/// A key's transformer reaching a child column it cannot run on (a hash as long as the
/// parent's varchar(20) into a varchar(8)) names the FK, both columns and the fix, not
/// an option the user never set on the child.
#[test]
fn an_inherited_transformer_that_does_not_fit_the_child_names_the_fk_and_the_fix() {
    let s = schema(vec![
        table("p", &[("code", "varchar(20)", false)], &["code"], vec![]),
        table(
            "c",
            &[("id", "int", false), ("p_code", "varchar(8)", true)],
            &["id"],
            vec![fk("c_p", &["p_code"], "p", &["code"])],
        ),
    ]);
    let err = resolve(&s, &[at("p", "code", TransformSpec::new("hash"))]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "foreign key `c_p`: c.p_code inherits the transformer of p.code, hash(alphabet=\"hex\", length=20, \
         max_length=20, truncate=true) (options not set are the parent column's defaults), which cannot run there: transformer `hash`: \
         option `length`: must be 1 to the column's length (8); parent and child must compute the same \
         values: set options on p.code that fit every column referencing it"
    );
    // With a length that fits both, the child inherits it.
    let r = resolve(&s, &[at("p", "code", TransformSpec::new("hash").with("length", 8))]).expect("fits");
    assert_eq!(
        find(&r, "c", "p_code").spec.to_string(),
        "hash(alphabet=\"hex\", length=8, max_length=20, truncate=true)"
    );
}

#[test]
fn mutually_referencing_keys_and_set_children_listed_before_their_parents_agree() {
    // a.id <-> b.id (a 1:1 cycle through the keys themselves), and a child table listed
    // before its parent with the same spec set on a wider column.
    let s = schema(vec![
        table(
            "grandchild",
            &[("p", "bigint", false)],
            &[],
            vec![fk("gc_child", &["p"], "child", &["id"])],
        ),
        table(
            "child",
            &[("id", "bigint", false)],
            &["id"],
            vec![fk("child_parent", &["id"], "parent", &["id"])],
        ),
        table("parent", &[("id", "int", false)], &["id"], vec![]),
        table(
            "a",
            &[("id", "int", false)],
            &["id"],
            vec![fk("a_b", &["id"], "b", &["id"])],
        ),
        table(
            "b",
            &[("id", "int", false)],
            &["id"],
            vec![fk("b_a", &["id"], "a", &["id"])],
        ),
    ]);
    let specs = vec![
        at("child", "id", TransformSpec::new("hash")),
        at("parent", "id", TransformSpec::new("hash")),
        at("a", "id", TransformSpec::new("hash")),
    ];
    let r = resolve(&s, &specs).unwrap();
    let int_hash = "hash(max=2147483647, min=-2147483648)";
    for (t, c) in [
        ("grandchild", "p"),
        ("child", "id"),
        ("parent", "id"),
        ("a", "id"),
        ("b", "id"),
    ] {
        assert_eq!(find(&r, t, c).spec.to_string(), int_hash, "{t}.{c}");
    }
    assert_eq!(find(&r, "child", "id").origin, Origin::Set);
    assert_eq!(find(&r, "grandchild", "p").root_table.name, "parent");
    assert_eq!(inherited(find(&r, "b", "id")).0, "b_a");
}

/// The shape of Sakila (MariaDB): small unsigned keys, ON UPDATE CASCADE everywhere, a
/// non-nullable cycle store <-> staff, customer and staff ids, emails and names set.
#[test]
fn a_sakila_shaped_schema_gets_consistent_keys_everywhere() {
    let s = schema(vec![
        table(
            "store",
            &[
                ("store_id", "tinyint unsigned", false),
                ("manager_staff_id", "tinyint unsigned", false),
            ],
            &["store_id"],
            vec![fk("fk_store_staff", &["manager_staff_id"], "staff", &["staff_id"])],
        ),
        table(
            "staff",
            &[
                ("staff_id", "tinyint unsigned", false),
                ("first_name", "varchar(45)", false),
                ("email", "varchar(50)", true),
                ("store_id", "tinyint unsigned", false),
            ],
            &["staff_id"],
            vec![fk("fk_staff_store", &["store_id"], "store", &["store_id"])],
        ),
        table(
            "customer",
            &[
                ("customer_id", "smallint unsigned", false),
                ("store_id", "tinyint unsigned", false),
                ("first_name", "varchar(45)", false),
                ("email", "varchar(50)", true),
            ],
            &["customer_id"],
            vec![fk("fk_customer_store", &["store_id"], "store", &["store_id"])],
        ),
        table(
            "payment",
            &[
                ("payment_id", "smallint unsigned", false),
                ("customer_id", "smallint unsigned", false),
                ("staff_id", "tinyint unsigned", false),
            ],
            &["payment_id"],
            vec![
                fk("fk_payment_customer", &["customer_id"], "customer", &["customer_id"]),
                fk("fk_payment_staff", &["staff_id"], "staff", &["staff_id"]),
            ],
        ),
    ]);
    let specs = vec![
        at("staff", "staff_id", TransformSpec::new("hash")),
        at("staff", "first_name", TransformSpec::new("first_name")),
        at("staff", "email", TransformSpec::new("email")),
        at("customer", "customer_id", TransformSpec::new("hash")),
        at("customer", "first_name", TransformSpec::new("first_name")),
        at("customer", "email", TransformSpec::new("email").with("unique", true)),
    ];
    let r = resolve(&s, &specs).unwrap();
    let seed = seed();
    let t = |table: &str, column: &str| {
        let x = find(&r, table, column);
        build(&x.spec, s.table(&x.table).unwrap().column(column).unwrap(), &seed).unwrap()
    };
    assert_eq!(inherited(find(&r, "store", "manager_staff_id")).0, "fk_store_staff");
    assert_eq!(find(&r, "payment", "staff_id").spec.to_string(), "hash(max=255, min=0)");
    assert_eq!(
        find(&r, "payment", "customer_id").spec.to_string(),
        "hash(max=65535, min=0)"
    );
    let (staff, manager, pay_staff) = (
        t("staff", "staff_id"),
        t("store", "manager_staff_id"),
        t("payment", "staff_id"),
    );
    let (cust, pay_cust) = (t("customer", "customer_id"), t("payment", "customer_id"));
    let mut seen = std::collections::HashSet::new();
    for id in 1..=600i64 {
        let new = cust.apply(&Value::Int(id), &RowView::EMPTY).unwrap();
        assert!(seen.insert(new.clone()), "customer ids collide");
        assert_ne!(new, Value::Int(0));
        assert_eq!(pay_cust.apply(&Value::Int(id), &RowView::EMPTY).unwrap(), new);
    }
    for id in 1..=2i64 {
        let new = staff.apply(&Value::Int(id), &RowView::EMPTY).unwrap();
        assert_eq!(manager.apply(&Value::Int(id), &RowView::EMPTY).unwrap(), new);
        assert_eq!(pay_staff.apply(&Value::Int(id), &RowView::EMPTY).unwrap(), new);
    }
    // Emails fit the varchar(50) column.
    let e = t("staff", "email")
        .apply(&text("mike.hillyer@sakilastaff.com"), &RowView::EMPTY)
        .unwrap();
    assert!(text_of(&e).chars().count() <= 50);
}

fn js(code: &str) -> TransformSpec {
    TransformSpec::new("js").with("code", code)
}

/// (way, reason, root key, this column's key columns) of a resolved column.
fn via(r: &[Resolved], table: &str, column: &str) -> (&'static str, String, Vec<String>, Vec<String>) {
    let x = find(r, table, column);
    match &x.via {
        Via::Computed => (x.via.name(), String::new(), vec![], vec![]),
        Via::KeyMap { reason, key, columns } => (x.via.name(), reason.clone(), key.clone(), columns.clone()),
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn keys_whose_transformer_reads_more_than_the_value_reach_children_through_a_key_map() {
    let specs = vec![
        at("customers", "id", js("(v, row) => v * 10 + row.x")),
        at("orders", "id", TransformSpec::new("hash")),
        at("accounts", "number", TransformSpec::new("generate_hash")),
        at(
            "employees",
            "id",
            js("(v) => v + Date.now() % 7").with("deterministic", false),
        ),
        at("members", "id", js("(v) => v + 1")),
        at("teams", "id", TransformSpec::new("hash")),
    ];
    let r = resolve(&shop(), &specs).unwrap();
    let row = "the function reads its row";
    let km = |reason: &str, key: &[&str], cols: &[&str]| ("key map", reason.to_string(), strings(key), strings(cols));
    let same = ("same function", String::new(), vec![], vec![]);
    // Directly, two levels down (a PK that is an FK), and through a virtual FK.
    assert_eq!(via(&r, "customers", "id"), km(row, &["id"], &["id"]));
    assert_eq!(via(&r, "orders", "customer_id"), km(row, &["id"], &["customer_id"]));
    assert_eq!(
        via(&r, "customer_profiles", "customer_id"),
        km(row, &["id"], &["customer_id"])
    );
    assert_eq!(
        via(&r, "profile_photos", "profile_id"),
        km(row, &["id"], &["profile_id"])
    );
    assert_eq!(via(&r, "legacy_log", "cust"), km(row, &["id"], &["cust"]));
    // A composite key: the map is keyed by the whole referenced key.
    let fresh = "generate_* draws fresh values on every run";
    assert_eq!(
        via(&r, "account_notes", "acc_number"),
        km(fresh, &["number", "region"], &["acc_number", "acc_region"])
    );
    assert_eq!(
        via(&r, "employees", "manager_id"),
        km("declared deterministic = false", &["id"], &["manager_id"])
    );
    // Functions of the value alone: each column computes the same function.
    assert_eq!(via(&r, "order_items", "order_id"), same);
    assert_eq!(via(&r, "teams", "lead_id"), same);
    assert_eq!(via(&r, "members", "team_id"), same);
}

#[test]
fn every_kind_says_whether_it_is_a_function_of_the_value_alone() {
    let c = |ty: &str| crate::common::col("c", ty, true);
    let reason = |spec: TransformSpec, ty: &str| tether_transform::key_map_reason(&spec, &c(ty)).unwrap();
    assert_eq!(reason(TransformSpec::new("hash"), "int"), None);
    assert_eq!(reason(TransformSpec::new("email"), "text"), None);
    assert_eq!(reason(js("(v) => v * 2"), "int"), None);
    // A default or rest parameter gets no row: the function cannot read it.
    assert_eq!(reason(js("(v, row = {}) => v * 2"), "int"), None);
    assert_eq!(reason(js("(v, row) => v"), "int"), Some("the function reads its row"));
    assert_eq!(
        reason(js("function (v) { return arguments[1].x }"), "int"),
        Some("the function reads its row")
    );
    assert_eq!(
        reason(js("(v) => v").with("deterministic", false), "int"),
        Some("declared deterministic = false")
    );
    assert_eq!(
        reason(TransformSpec::new("generate_email"), "text"),
        Some("generate_* draws fresh values on every run")
    );
    assert_eq!(
        reason(TransformSpec::new("categorical").with("from", "column"), "text"),
        Some("it picks from each column's own values (from = \"column\")")
    );
    assert_eq!(
        reason(TransformSpec::new("default"), "text"),
        Some("it writes each column's own default")
    );
    assert_eq!(reason(TransformSpec::new("constant").with("value", "x"), "text"), None);
}

#[test]
fn a_key_map_that_an_fk_cannot_carry_or_two_key_maps_on_one_column_are_plan_errors() {
    // note_refs.n references account_notes.acc_number alone: the map of accounts.number
    // is keyed by (number, region), and the region does not come along.
    let mut s = shop();
    s.tables.push(table(
        "note_refs",
        &[("n", "int", false)],
        &[],
        vec![fk("ref_note_fk", &["n"], "account_notes", &["acc_number"])],
    ));
    let err = resolve(&s, &[at("accounts", "number", js("(v, row) => v + row.region.length"))])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("foreign key `ref_note_fk`: note_refs.n inherits js(")
            && err.contains("from accounts.number; the function reads its row, so children take its new values from a key map keyed by (number, region), but the foreign key does not carry account_notes.acc_region"),
        "{err}"
    );
    // The same value-only function is fine there.
    assert!(resolve(&s, &[at("accounts", "number", TransformSpec::new("hash"))]).is_ok());

    let s = two_parents();
    let gen = TransformSpec::new("generate_hash");
    let err = resolve(&s, &[at("a", "id", gen.clone()), at("b", "id", gen)])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("c.x inherits generate_hash(") && err.contains("one column cannot follow two"),
        "{err}"
    );
    // With a function of the value alone both parents agree.
    let h = TransformSpec::new("hash");
    assert!(resolve(&s, &[at("a", "id", h.clone()), at("b", "id", h)]).is_ok());
}

/// c.x references a.id and b.id; only one of them is transformed. Every row of c would
/// be an orphan of the other, whether c.x inherits the transformer or has it set too.
#[test]
fn a_column_referencing_a_transformed_and_an_unchanged_parent_is_a_plan_error() {
    let s = two_parents();
    let err = resolve(&s, &[at("a", "id", TransformSpec::new("hash"))]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "foreign key `c_b`: c.x inherits hash(max=2147483647, min=-2147483648) from a.id through foreign \
         key `c_a`, but it also references b.id, which is copied unchanged, so transformed children would \
         be orphans: set the same transformer on b.id"
    );
    // The other way round, and with the unchanged parent said so explicitly.
    for b in [vec![], vec![at("a", "id", TransformSpec::new("passthrough"))]] {
        let mut specs = vec![at("b", "id", TransformSpec::new("hash"))];
        specs.extend(b);
        let err = resolve(&s, &specs).unwrap_err();
        assert_eq!(
            err.to_string(),
            "foreign key `c_a`: c.x inherits hash(max=2147483647, min=-2147483648) from b.id through foreign \
             key `c_b`, but it also references a.id, which is copied unchanged, so transformed children would \
             be orphans: set the same transformer on a.id"
        );
    }
    // The same transformer set on c.x too.
    let specs = vec![
        at("a", "id", TransformSpec::new("hash")),
        at("c", "x", TransformSpec::new("hash")),
    ];
    assert_eq!(
        resolve(&s, &specs).unwrap_err().to_string(),
        "foreign key `c_b`: c.x has transformer hash, but the column it references, b.id, is copied \
         unchanged, so transformed children would be orphans: set the transformer on b.id instead"
    );
    // `null` on c.x needs no parent, and the same transformer on both parents is fine.
    let specs = vec![
        at("a", "id", TransformSpec::new("hash")),
        at("c", "x", TransformSpec::new("null")),
    ];
    let s_nullable = schema(vec![
        table("a", &[("id", "int", false)], &["id"], vec![]),
        table("b", &[("id", "int", false)], &["id"], vec![]),
        table(
            "c",
            &[("x", "int", true)],
            &[],
            vec![fk("c_a", &["x"], "a", &["id"]), fk("c_b", &["x"], "b", &["id"])],
        ),
    ]);
    assert_eq!(find(&resolve(&s_nullable, &specs).unwrap(), "c", "x").spec.kind, "null");
    let r = resolve(
        &s,
        &[
            at("a", "id", TransformSpec::new("hash")),
            at("b", "id", TransformSpec::new("hash")),
        ],
    )
    .unwrap();
    assert_eq!(
        find(&r, "c", "x").spec.to_string(),
        "hash(max=2147483647, min=-2147483648)"
    );
}

/// The same rule column by column of a composite FK, down a chain, and through a
/// virtual FK: an inherited column is checked against every parent it references.
#[test]
fn an_inherited_column_is_checked_against_every_parent_it_references() {
    // ch.(k, n) -> pk.(k, n); ch.n alone -> other.n, which is copied unchanged.
    let s = schema(vec![
        table("pk", &[("k", "int", false), ("n", "int", false)], &["k", "n"], vec![]),
        table("other", &[("n", "int", false)], &["n"], vec![]),
        table(
            "ch",
            &[("id", "int", false), ("k", "int", false), ("n", "int", false)],
            &["id"],
            vec![
                fk("ch_pk", &["k", "n"], "pk", &["k", "n"]),
                fk("ch_other", &["n"], "other", &["n"]),
            ],
        ),
    ]);
    // Transforming pk.k reaches ch.k only, which has no other parent.
    let r = resolve(&s, &[at("pk", "k", TransformSpec::new("hash"))]).unwrap();
    assert_eq!(inherited(find(&r, "ch", "k")).0, "ch_pk");
    let err = resolve(&s, &[at("pk", "n", TransformSpec::new("hash"))]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "foreign key `ch_other`: ch.n inherits hash(max=2147483647, min=-2147483648) from pk.n through \
         foreign key `ch_pk`, but it also references other.n, which is copied unchanged, so transformed \
         children would be orphans: set the same transformer on other.n"
    );

    // Two levels down (customers.id -> orders... -> profile_photos) and a virtual FK:
    // legacy_log.cust inherits customers.id and also references vip.id virtually.
    let mut s = shop();
    let mut vip_fk = fk("legacy_log_vip", &["cust"], "vip", &["id"]);
    vip_fk.is_virtual = true;
    s.tables.push(table("vip", &[("id", "int", false)], &["id"], vec![]));
    s.tables
        .iter_mut()
        .find(|t| t.name == "legacy_log")
        .unwrap()
        .foreign_keys
        .push(vip_fk);
    s.tables.push(table(
        "photo_tags",
        &[("photo_profile", "bigint", false)],
        &[],
        vec![
            fk("tag_photo_fk", &["photo_profile"], "profile_photos", &["profile_id"]),
            fk("tag_vip_fk", &["photo_profile"], "vip", &["id"]),
        ],
    ));
    let err = resolve(&s, &[at("customers", "id", TransformSpec::new("hash"))])
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "foreign key `legacy_log_vip`: legacy_log.cust inherits hash(max=2147483647, min=-2147483648) from \
         customers.id through foreign key `legacy_log_customer`, but it also references vip.id, which is \
         copied unchanged, so transformed children would be orphans: set the same transformer on vip.id"
    );
    // With vip.id transformed alike, the chain's end is fine too.
    let r = resolve(
        &s,
        &[
            at("customers", "id", TransformSpec::new("hash")),
            at("vip", "id", TransformSpec::new("hash")),
        ],
    )
    .unwrap();
    assert_eq!(
        find(&r, "photo_tags", "photo_profile").spec.to_string(),
        "hash(max=2147483647, min=-2147483648)"
    );
}
