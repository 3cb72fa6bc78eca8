//! The per-object lines of a destination's schema report: on the same engine every
//! object is created as the source has it; on another engine each gets its closest
//! equivalent in the destination model, or is skipped with the reason.

use super::*;

/// Same engine: every object is created as the source has it.
pub(super) fn same_engine_items(engine: Engine, shown: &str, t: &Table, report: &mut Vec<SchemaItem>) {
    let x = &t.extras;
    let mut created = |kind: &'static str, name: String| report.push(SchemaItem::new(kind, name, Action::Created));
    if x.definition.is_some() {
        let whose = match engine {
            Engine::Sqlite => "its CREATE TABLE in sqlite_master",
            _ => "SHOW CREATE TABLE",
        };
        created("definition", format!("{shown} ({whose})"));
    }
    for s in &x.sequences {
        created(
            "sequence",
            match &s.schema {
                Some(schema) => format!("{schema}.{}", s.name),
                // SQLite's one `sqlite_sequence` (the row of this table's AUTOINCREMENT),
                // a MariaDB sequence a default draws from: with the column using it; one
                // its triggers use, with the table.
                None if s.column.is_empty() => format!("{} (used by {shown})", s.name),
                None => format!("{} ({shown}.{})", s.name, s.column),
            },
        );
    }
    // Created from the model (a SQLite definition that cannot be used): SQLite adds no
    // generated column to a table, so such a column is a plain one there.
    let model_only = engine == Engine::Sqlite && x.definition.is_none();
    for c in t.columns.iter().filter(|c| model_only && c.generated.is_some()) {
        report.push(
            SchemaItem::new("generated column", format!("{shown}.{}", c.name), Action::Mapped)
                .between(
                    format!("GENERATED AS ({})", c.generated.as_deref().unwrap_or("")),
                    "a plain column holding the copied values",
                )
                .because("the table is created from the model, not from its CREATE TABLE"),
        );
    }
    let mut created = |kind: &'static str, name: String| report.push(SchemaItem::new(kind, name, Action::Created));
    for c in t
        .columns
        .iter()
        .filter(|c| c.default.is_some() || (c.generated.is_some() && !model_only))
    {
        created(
            if c.generated.is_some() {
                "generated column"
            } else {
                "default"
            },
            format!("{shown}.{}", c.name),
        );
    }
    for c in &x.checks {
        created("check", format!("{shown}.{}", c.name));
    }
    for i in &x.indexes {
        created("index", format!("{shown}.{}", i.name));
    }
    if x.comment.is_some() {
        created("comment", shown.to_string());
    }
    for c in x.column_comments.keys() {
        created("comment", format!("{shown}.{c}"));
    }
    for c in x.constraint_comments.keys() {
        created("comment", format!("{shown}.{c} (constraint)"));
    }
    for i in x.indexes.iter().filter(|i| i.comment.is_some()) {
        created("comment", format!("{shown}.{} (index)", i.name));
    }
    if let Some(i) = &x.clustered_on {
        created("cluster", format!("{shown} on {i}"));
    }
    for tr in &x.triggers {
        created("trigger", format!("{shown}.{}", tr.name));
    }
    for f in &x.functions {
        created("function", format!("{f} (used by {shown})"));
    }
    for e in &x.extensions {
        created("extension", format!("{e} (used by {shown}; where missing)"));
    }
    for c in &x.user_collations {
        created("collation", format!("{c} (used by {shown}; where missing)"));
    }
    if t.partitioning.is_some() {
        created("partitioning", shown.to_string());
    }
    // (MariaDB, from its definition: the table is created versioned.)
    if x.definition
        .as_deref()
        .is_some_and(|d| d.contains(" WITH SYSTEM VERSIONING"))
    {
        report.push(
            SchemaItem::new("history rows", shown, Action::Skipped)
                .because("the table is created versioned with the current rows; its history starts at the load"),
        );
    }
    for r in &x.rules {
        report.push(
            SchemaItem::new("rule", format!("{shown}.{}", r.name), Action::Created)
                .because("once the rows are in (a rule would rewrite the load's statements)"),
        );
        for f in r.functions.iter().filter(|f| !x.functions.contains(f)) {
            report.push(SchemaItem::new(
                "function",
                format!("{f} (used by {shown}.{})", r.name),
                Action::Created,
            ));
        }
    }
    let mut created = |kind: &'static str, name: String| report.push(SchemaItem::new(kind, name, Action::Created));
    for s in &x.statistics {
        created("statistics", format!("{shown}.{}", s.name));
    }
    for (c, storage) in &x.column_storage {
        created("storage", format!("{shown}.{c} ({storage})"));
    }
    for (c, target) in &x.column_statistics {
        created("statistics target", format!("{shown}.{c} ({target})"));
    }
    if let Some(ty) = &x.of_type {
        created("typed table", format!("{shown} (OF {ty})"));
    }
    reported_not_copied(shown, x, report);
    if !x.row_security.is_empty() {
        let policies = x.row_security.iter().filter(|s| s.contains("CREATE POLICY")).count();
        report.push(
            SchemaItem::new("row security", shown.to_string(), Action::Created).because(format!(
                "{policies} policies; one naming a role the destination lacks is left out there, with a server \
                 warning, row security staying on"
            )),
        );
    }
}

/// What no copy carries, onto any engine: privileges granted on the table (the roles
/// are the destination's to grant).
fn reported_not_copied(shown: &str, x: &tether_schema::TableExtras, report: &mut Vec<SchemaItem>) {
    for g in &x.grants {
        report.push(
            SchemaItem::new("grant", format!("{shown}: {g}"), Action::Skipped)
                .because("privileges are not copied; the destination's roles are its own"),
        );
    }
}

/// Another engine: closest equivalents into `out`, each recorded.
pub(super) fn cross_engine(
    source: &Schema,
    t: &Table,
    shown: &str,
    dest: Engine,
    d: &dyn Dialect,
    out: &mut Table,
    report: &mut Vec<SchemaItem>,
) {
    let from = source.engine.name();
    let x = &t.extras;
    out.extras = Default::default();
    if t.partitioning.is_some() {
        report.push(
            SchemaItem::new("partitioning", shown, Action::Mapped)
                .between("partitioned table", "one plain table")
                .because(format!("{} has no declarative partitions here", dest.name())),
        );
    }
    for c in &x.partition_constraints {
        report.push(
            SchemaItem::new("constraint", format!("{shown}.{}", c.name), Action::Skipped).because(format!(
                "declared on partition {} only ({}); {} has no declarative partitions (the copy is one table): \
                 not enforced on the copy",
                c.partition,
                c.definition,
                dest.name()
            )),
        );
    }
    // A MariaDB/MySQL table's partitions are in its definition only.
    let partitioned = x.definition.as_deref().is_some_and(|d| {
        d.lines().any(|l| {
            let l = l.trim_start();
            l.starts_with("PARTITION BY ") || l.starts_with("/*!50100 PARTITION BY ")
        })
    });
    if t.partitioning.is_none() && partitioned {
        report.push(
            SchemaItem::new("partitioning", shown, Action::Mapped)
                .between("partitioned table", "one plain table")
                .because(format!("{from}'s partitioning is not translated to {}", dest.name())),
        );
    }
    out.partitioning = None;
    if x.definition
        .as_deref()
        .is_some_and(|d| d.contains(" WITH SYSTEM VERSIONING"))
    {
        report.push(
            SchemaItem::new("system versioning", shown, Action::Skipped).because(format!(
                "{} keeps no row history; the current rows are copied",
                dest.name()
            )),
        );
    }
    // MariaDB's INVISIBLE columns (left out of `SELECT *` and of an INSERT without a
    // column list): SHOW CREATE TABLE says so on the column's line.
    for c in &t.columns {
        let line = format!("`{}` ", c.name.replace('`', "``"));
        let invisible = x.definition.as_deref().is_some_and(|d| {
            d.lines()
                .any(|l| l.trim_start().starts_with(&line) && l.contains(" INVISIBLE"))
        });
        if invisible {
            report.push(
                SchemaItem::new(
                    "column option",
                    format!("{shown}.{} (INVISIBLE)", c.name),
                    Action::Skipped,
                )
                .because(format!(
                    "{} has no invisible columns: the copy's `SELECT *` shows it, and an INSERT without a \
                         column list must give it",
                    dest.name()
                )),
            );
        }
    }
    if !t.inherits.is_empty() {
        report.push(
            SchemaItem::new("inheritance", shown, Action::Mapped)
                .between("INHERITS", "a table of its own")
                .because(format!("{} has no table inheritance", dest.name())),
        );
    }
    out.inherits.clear();
    // MariaDB/MySQL refuse an FK between integers of different sizes or signs (errno
    // 150), which other engines allow (SQLite's INT and INTEGER are one type): the
    // child's column takes its parent's integer type.
    if dest == Engine::Mysql {
        for fk in &t.foreign_keys {
            let Some(parent) = source.table(&fk.referenced_name()) else {
                continue;
            };
            for (child, referenced) in fk.columns.iter().zip(&fk.referenced_columns) {
                let Some(p) = parent.column(referenced) else { continue };
                if let Some(c) = out.columns.iter_mut().find(|c| &c.name == child) {
                    if c.normalized_type.is_integer() && p.normalized_type.is_integer() {
                        c.normalized_type = p.normalized_type.clone();
                    }
                }
            }
        }
    }
    // PostgreSQL has no unsigned bigint: numeric(20,0) holds every value but can be no
    // identity, so an auto-increment `bigint unsigned` key (Laravel's `id`) lost its
    // counting there. It becomes a bigint identity (a value past 2^63 - 1 is refused,
    // naming its row), and the columns referencing it bigints too (PostgreSQL refuses
    // an FK between numeric and bigint).
    if dest == Engine::Postgres {
        let unsigned_bigint = DataType::Int {
            bytes: 8,
            unsigned: true,
        };
        let counted = |table: &Table, column: &str| {
            table
                .column(column)
                .is_some_and(|c| c.identity.is_some() && c.normalized_type == unsigned_bigint)
        };
        let mut signed: Vec<String> = t
            .columns
            .iter()
            .filter(|c| counted(t, &c.name))
            .map(|c| c.name.clone())
            .collect();
        for fk in &t.foreign_keys {
            let Some(parent) = source.table(&fk.referenced_name()) else {
                continue;
            };
            for (child, referenced) in fk.columns.iter().zip(&fk.referenced_columns) {
                if counted(parent, referenced) {
                    signed.push(child.clone());
                }
            }
        }
        for c in out.columns.iter_mut().filter(|c| signed.contains(&c.name)) {
            if c.normalized_type == unsigned_bigint {
                c.normalized_type = DataType::Int {
                    bytes: 8,
                    unsigned: false,
                };
            }
        }
    }
    let sqlite_rules = match source.engine {
        Engine::Sqlite => super::sqlite_rules::sqlite_rules(x.definition.as_deref().unwrap_or("")),
        _ => Default::default(),
    };
    let sqlite_collations = &sqlite_rules.collations;
    for (subject, clause) in &sqlite_rules.conflicts {
        let upper = clause.to_ascii_uppercase();
        let source_does = match () {
            _ if upper.ends_with("REPLACE") && upper.starts_with("NOT NULL") => {
                "stores the column's default in place of a NULL"
            }
            _ if upper.ends_with("REPLACE") => "deletes the rows a new one clashes with",
            _ if upper.ends_with("IGNORE") => "drops the clashing row without an error",
            _ if upper.ends_with("FAIL") => "stops the statement keeping the rows it wrote before",
            _ => "rolls back the whole transaction",
        };
        report.push(
            SchemaItem::new(
                "column option",
                format!("{shown}.{subject} ({clause})"),
                Action::Skipped,
            )
            .because(format!(
                "{} has no conflict clause on a constraint: a clash there is an error, where {from} {source_does}",
                dest.name()
            )),
        );
    }
    for (name, definition) in &sqlite_rules.checks {
        report.push(
            SchemaItem::new("check", format!("{shown}.{name}"), Action::Skipped).because(format!(
                "`{definition}` is {from}'s SQL; not translated: the copy does not enforce it"
            )),
        );
    }
    for c in &mut out.columns {
        let col = format!("{shown}.{}", c.name);
        let mut implicit_default = None;
        // A NOT NULL domain's column holds no NULL; its base type's column says so.
        if let Some(ty) = x.user_types.get(&c.name).filter(|_| !c.engine_type.ends_with("[]")) {
            c.nullable &= !domain_not_null(source, ty);
        }
        if let Some(labels) = enum_labels(source, t, c) {
            let quoted: Vec<String> = labels
                .iter()
                .map(|l| d.literal(&tether_connect::Value::Text(l.clone())))
                .collect();
            if d.native_enum() && enum_holds(&labels) {
                // A PostgreSQL enum tells 'ok' from 'OK': a binary collation, or the
                // table's `_ci` one stores 'OK' as 'ok' and refuses labels apart by case.
                let ty = format!("enum({}) {ENUM_COLLATION}", quoted.join(","));
                let item = SchemaItem::new("column", &col, Action::Mapped).between(&c.engine_type, &ty);
                // A NOT NULL ENUM without a DEFAULT takes its first label where an INSERT
                // leaves it out: more than the source, which refuses that INSERT.
                let item = match (!c.nullable && c.default.is_none(), quoted.first()) {
                    (true, Some(first)) => item.because(format!(
                        "an INSERT without it stores {first} there (a NOT NULL ENUM's implicit default), \
                         where {from} refuses it"
                    )),
                    _ => item,
                };
                report.push(item);
                out.extras.column_types.insert(c.name.clone(), ty);
            } else if d.native_enum() {
                // MariaDB's ENUM drops a label's trailing spaces (at CREATE and from
                // each value stored): a varchar without padding keeps them, its CHECK
                // the labels.
                let check = format!("{}_{}_check", out.name, c.name);
                let chars = labels.iter().map(|l| l.chars().count()).max().unwrap_or(1).max(1);
                let ty = format!("varchar({chars}) {EXACT_TEXT_COLLATION}");
                report.push(
                    SchemaItem::new("column", &col, Action::Mapped)
                        .between(&c.engine_type, format!("{ty} with CHECK {check} of its labels"))
                        .because(
                            "a label ends with a space, which a MariaDB ENUM drops (it would store another value)",
                        ),
                );
                out.extras.column_types.insert(c.name.clone(), ty);
                out.extras.checks.push(Check {
                    name: check,
                    definition: format!("CHECK ({} IN ({}))", d.ident(&c.name), quoted.join(", ")),
                    exclusion: false,
                });
            } else {
                let check = format!("{}_{}_check", out.name, c.name);
                report.push(
                    SchemaItem::new("column", &col, Action::Mapped)
                        .between(&c.engine_type, format!("text with CHECK {check} of its labels")),
                );
                // MariaDB gives a NOT NULL ENUM without a DEFAULT its first label (strict
                // mode too): an INSERT without the column stores it. The copy says so.
                if source.engine == Engine::Mysql && !c.nullable && c.default.is_none() && c.generated.is_none() {
                    if let Some(first) = quoted.first() {
                        report.push(
                            SchemaItem::new("default", &col, Action::Mapped)
                                .between("none", first)
                                .because(format!(
                                    "{from} gives a NOT NULL ENUM without a DEFAULT its first label"
                                )),
                        );
                        implicit_default = Some(first.clone());
                    }
                }
                out.extras.checks.push(Check {
                    name: check,
                    definition: format!("CHECK ({} IN ({}))", d.ident(&c.name), quoted.join(", ")),
                    exclusion: false,
                });
            }
        } else {
            let mut declared = c.engine_type.clone();
            if let Some(Underneath::Base(base)) = t
                .extras
                .user_types
                .get(&c.name)
                .filter(|_| !c.engine_type.ends_with("[]"))
                .and_then(|ty| underneath(source, ty))
            {
                c.normalized_type = tether_connect::types::postgres(&base);
                declared = base;
            }
            let odd_scale = odd_decimal(&declared, &c.normalized_type);
            if let Some(ty) = &odd_scale {
                c.normalized_type = ty.clone();
            }
            let keyed = t.primary_key.contains(&c.name)
                || t.unique_keys.iter().any(|u| u.columns.contains(&c.name))
                || t.foreign_keys.iter().any(|f| f.columns.contains(&c.name));
            let mut to = d.column_type(&c.normalized_type, keyed);
            // Unbounded text where the engine sizes it: the smallest type the values fit.
            if let (false, Some(bytes)) = (keyed, x.text_bytes.get(&c.name)) {
                if let Some(ty) = d.sized_text_type(*bytes) {
                    to = ty.to_string();
                    out.extras.column_types.insert(c.name.clone(), to.clone());
                }
            }
            // A key's unbounded text gets a length there where 255 is too few: the
            // longest value's bytes (at least its characters), up to the 768 characters
            // an index of utf8mb4 holds (3072 bytes).
            if let (true, Some(&bytes), "varchar(255)") = (keyed, x.text_bytes.get(&c.name), to.as_str()) {
                if bytes > 255 {
                    to = format!("varchar({})", bytes.min(768));
                    out.extras.column_types.insert(c.name.clone(), to.clone());
                }
            }
            // citext compares without case; so must its copy, or a child spelling its
            // parent's key in another case breaks the FK there.
            let citext = x
                .extension_types
                .get(&c.name)
                .is_some_and(|ty| ty == "citext" || ty.ends_with(".citext"));
            // A nondeterministic collation (ICU `ks-level2`, say) compares without case
            // too (NOCASE and a `_ci` collation are the closest there).
            let nondeterministic = x.collations.get(&c.name).is_some_and(|named| {
                let bare = named.replace('"', "");
                source
                    .objects
                    .collations
                    .iter()
                    .any(|k| k.name == bare && k.definition.contains("deterministic = false"))
            });
            // SQLite's NOCASE (read from its CREATE TABLE text): MariaDB's default
            // collations compare without case already (an explicit one would differ
            // from a child column's and break the FK there: errno 150); PostgreSQL has
            // none without an extension or an ICU collation of the user's, so the plan
            // says the comparison is lost there.
            let nocase = sqlite_collations
                .iter()
                .find(|(n, _)| n == &c.name)
                .map(|(_, k)| k.as_str());
            match (nocase, dest) {
                (Some("NOCASE"), Engine::Mysql) | (None, _) => {}
                // character(n) ignores trailing spaces as RTRIM does (both with case).
                (Some("RTRIM"), Engine::Postgres) if matches!(c.normalized_type, DataType::Char { .. }) => {}
                // MariaDB's default collations ignore trailing spaces already (PAD
                // SPACE) but compare without case, which RTRIM does not.
                (Some("RTRIM"), Engine::Mysql) => {
                    report.push(SchemaItem::new("collation", &col, Action::Skipped).because(format!(
                        "{} compares it without case: SQLite's COLLATE RTRIM (trailing spaces ignored, as there) \
                         tells 'p' and 'P' apart, so its =, unique keys and foreign keys there hold equal values \
                         the source tells apart",
                        dest.name()
                    )))
                }
                (Some(k), _) => report.push(SchemaItem::new("collation", &col, Action::Skipped).because(format!(
                    "{} compares it with case: SQLite's COLLATE {k} ({}) is not carried, so its =, unique keys \
                     and foreign keys there tell values apart that the source holds equal",
                    dest.name(),
                    match k {
                        "NOCASE" => "ASCII letters equal whatever their case",
                        "RTRIM" => "trailing spaces ignored",
                        _ => "a collation of the application's",
                    }
                ))),
            }
            // An FK's child column compares as its parent's key does (PostgreSQL lets a
            // text column reference one in a nondeterministic collation): created in the
            // parent's collation, or MariaDB refuses the FK (errno 150) and compares the
            // two with "Illegal mix of collations" (1267).
            let by_parent = parent_caseless(source, t, &c.name, 0);
            if let (true, Some(collate)) = (by_parent.unwrap_or(citext || nondeterministic), caseless(dest)) {
                to = format!("{to} {collate}");
                out.extras.column_types.insert(c.name.clone(), to.clone());
            }
            // A blank-padded char(n) (PostgreSQL's 'ab  ', MariaDB's 'ab') compares
            // without its trailing spaces at the source; SQLite's BINARY would hold
            // 'ab' beside 'ab  ' in a key and miss `= 'ab'`. RTRIM compares as the
            // source does; the values stay the source's bytes.
            if dest == Engine::Sqlite && matches!(c.normalized_type, DataType::Char { .. }) && !to.contains("COLLATE") {
                to = format!("{to} COLLATE RTRIM");
                out.extras.column_types.insert(c.name.clone(), to.clone());
            }
            if c.engine_type.trim().is_empty() {
                // A SQLite column without a type: an FK column has its parent's (see
                // the introspection), any other one keeps any value.
                let parent = t.foreign_keys.iter().find_map(|f| {
                    let i = f.columns.iter().position(|x| x == &c.name)?;
                    Some(format!("{}.{}", f.referenced_table, f.referenced_columns.get(i)?))
                });
                let why = match parent {
                    Some(p) => format!("the type of {p}, which it references"),
                    None => format!("{from} keeps values of any type in it; they are copied as {to}"),
                };
                report.push(
                    SchemaItem::new("column", &col, Action::Mapped)
                        .between("no declared type", to)
                        .because(why),
                );
            } else if to != c.engine_type {
                let mut item = SchemaItem::new("column", &col, Action::Mapped).between(&c.engine_type, &to);
                if let Some(why) = decimal_room(&declared, odd_scale.is_some(), &c.normalized_type, dest) {
                    item = item.because(why);
                }
                // A SQLite FK column declared as another kind than its parent's key has
                // the parent's type (see the introspection).
                // So does a MariaDB TINYINT FK column of a TINYINT(1) key, or the reverse.
                let took = match source.engine {
                    Engine::Sqlite => tether_connect::types::sqlite(&c.engine_type) != c.normalized_type,
                    Engine::Mysql => tether_connect::types::mysql(&c.engine_type) != c.normalized_type,
                    Engine::Postgres => false,
                };
                if took {
                    if let Some(p) = t.foreign_keys.iter().find_map(|f| {
                        let i = f.columns.iter().position(|x| x == &c.name)?;
                        Some(format!("{}.{}", f.referenced_table, f.referenced_columns.get(i)?))
                    }) {
                        item = item.because(match source.engine {
                            Engine::Mysql => format!(
                                "the type of {p}, which it references: a TINYINT(1) is copied as a boolean, and \
                                 other engines refuse a foreign key between a boolean and an integer"
                            ),
                            _ => format!(
                                "the type of {p}, which it references: SQLite compares the two as that type; \
                                 other engines refuse a foreign key between different kinds of types"
                            ),
                        });
                    }
                }
                if source.engine == Engine::Mysql && dest == Engine::Sqlite {
                    let (check, why) = super::sqlite_rules::mariadb_values_on_sqlite(&out.name, c, d);
                    if let Some(why) = why {
                        item = item.because(why);
                    }
                    out.extras.checks.extend(check);
                }
                // A decimal of more digits than SQLite's REAL keeps is stored as TEXT
                // (exact): compared there as text ('10' < '4').
                if dest == Engine::Sqlite
                    && matches!(c.normalized_type, DataType::Decimal { .. })
                    && to.eq_ignore_ascii_case("TEXT")
                {
                    let why = "TEXT keeps every digit (a SQLite REAL keeps 15); comparisons and ORDER BY there \
                               compare the text, not the number (CAST it to REAL to compare approximately)";
                    item.reason = Some(match item.reason.take() {
                        Some(r) => format!("{r}; {why}"),
                        None => why.to_string(),
                    });
                }
                if source.engine == Engine::Mysql && dest == Engine::Postgres {
                    let (check, why) = mariadb_values_on_postgres(&out.name, c, d);
                    if let Some(why) = why {
                        item = item.because(why);
                    }
                    out.extras.checks.extend(check);
                }
                report.push(item);
            } else if source.engine == Engine::Mysql && dest == Engine::Postgres && c.normalized_type == DataType::Time
            {
                // The same name, not the same values: said where the type maps to itself.
                report.push(
                    SchemaItem::new("column", &col, Action::Mapped)
                        .between(&c.engine_type, &to)
                        .because(TIME_IS_A_DURATION),
                );
            }
        }
        if let Some(g) = c.generated.take() {
            report.push(
                SchemaItem::new("generated column", &col, Action::Mapped)
                    .between(
                        format!("GENERATED AS ({g})"),
                        "a plain column holding the copied values",
                    )
                    .because(format!("the expression is {from}'s SQL; not translated")),
            );
            c.default = None;
            continue;
        }
        if let Some(def) = c.default.take() {
            if c.identity.is_some() {
                // nextval(...) and the like: the identity column stands for it.
                report.push(match not_numbered(t, c, dest) {
                    None => SchemaItem::new("sequence", &col, Action::Mapped)
                        .between(&def, d.auto_increment().unwrap_or("identity")),
                    Some(why) => SchemaItem::new("sequence", &col, Action::Skipped).because(why),
                });
                continue;
            }
            match super::defaults::translate(&def, &c.normalized_type, dest) {
                Ok(to) => {
                    let item = if to == def {
                        SchemaItem::new("default", &col, Action::Created)
                    } else {
                        SchemaItem::new("default", &col, Action::Mapped).between(&def, &to)
                    };
                    report.push(item);
                    c.default = Some(to);
                }
                Err(None) => report.push(SchemaItem::new("default", &col, Action::Skipped).because(format!(
                    "`{def}` is {from}'s SQL with no known equivalent on {}",
                    dest.name()
                ))),
                // A value the column cannot hold there would fail the whole CREATE TABLE.
                Err(Some(why)) => report.push(SchemaItem::new("default", &col, Action::Skipped).because(format!(
                    "{why}; the column there has no default{}",
                    match c.nullable {
                        true => "",
                        false => ", so an INSERT must give it",
                    }
                ))),
            }
        }
        if implicit_default.is_some() {
            c.default = implicit_default;
        }
    }
    for c in &x.checks {
        report.push(
            SchemaItem::new("check", format!("{shown}.{}", c.name), Action::Skipped)
                .because(format!("`{}` is {from}'s SQL; not translated", c.definition)),
        );
    }
    for i in &x.indexes {
        // A bare unique index is also one of the table's unique keys (an FK may refer to
        // it), which the table is created with: once is enough (twice is MariaDB's 1061).
        if i.unique && i.predicate.is_none() && t.unique_keys.iter().any(|u| u.name == i.name && u.predicate.is_none())
        {
            let item = SchemaItem::new("index", format!("{shown}.{}", i.name), Action::Mapped);
            report.push(match nulls_not_distinct(t, &i.name) {
                true => item.between(
                    "unique index NULLS NOT DISTINCT",
                    "a UNIQUE key of the table (NULLs distinct)",
                ),
                false => item.between("unique index", "a UNIQUE key of the table"),
            });
            continue;
        }
        let item = SchemaItem::new("index", format!("{shown}.{}", i.name), Action::Skipped);
        let text_column = i.columns.iter().any(|c| {
            t.column(c).is_some_and(|c| {
                !d.indexes_unbounded_text() && c.normalized_type.is_text() && c.normalized_type.max_chars().is_none()
            })
        });
        let plain = !i.columns.is_empty() && i.predicate.is_none() && matches!(i.method.as_str(), "btree" | "BTREE");
        if !plain {
            report.push(item.because(format!(
                "{} index{}: not translated",
                i.method,
                match (i.columns.is_empty(), &i.predicate) {
                    (true, _) => " on an expression or on one partition",
                    (_, Some(_)) => " with a WHERE",
                    _ => "",
                }
            )));
        } else if text_column {
            report.push(item.because("an index on unbounded text needs a prefix length on MariaDB/MySQL"));
        } else {
            // (A prefix or DESC part: an expression, DESC there.)
            let (definition, item) = super::keys::index_with_parts(t, i, shown, d, out).unwrap_or_else(|| {
                let item = SchemaItem::new("index", format!("{shown}.{}", i.name), Action::Created);
                (String::new(), item)
            });
            report.push(item);
            out.extras.indexes.push(Index {
                name: i.name.clone(),
                columns: i.columns.clone(),
                unique: i.unique,
                method: "btree".into(),
                predicate: None,
                definition,
                comment: None,
            });
        }
    }
    super::keys::unique_keys_with_parts(t, shown, d, out, report);
    // Table and column comments, where the destination keeps comments that long.
    let comments = x
        .comment
        .iter()
        .map(|c| (None, c))
        .chain(x.column_comments.iter().map(|(k, c)| (Some(k), c)));
    for (column, c) in comments {
        let name = column.map_or_else(|| shown.to_string(), |k| format!("{shown}.{k}"));
        let item = SchemaItem::new("comment", name, Action::Skipped);
        match d.comment_room(column.is_some()) {
            None => report.push(item.because("comments are not carried to another engine")),
            Some(room) if c.chars().count() > room => {
                report.push(item.because(format!("longer than the {room} characters {} keeps", dest.name())))
            }
            Some(_) => {
                report.push(SchemaItem {
                    action: Action::Created,
                    ..item
                });
                match column {
                    Some(k) => {
                        out.extras.column_comments.insert(k.clone(), c.clone());
                    }
                    None => out.extras.comment = Some(c.clone()),
                }
            }
        }
    }
    let skipped =
        |kind: &'static str, name: String, why: &str| SchemaItem::new(kind, name, Action::Skipped).because(why);
    for c in x.constraint_comments.keys() {
        report.push(skipped(
            "comment",
            format!("{shown}.{c} (constraint)"),
            "comments are not carried to another engine",
        ));
    }
    for i in x.indexes.iter().filter(|i| i.comment.is_some()) {
        report.push(skipped(
            "comment",
            format!("{shown}.{} (index)", i.name),
            "comments are not carried to another engine",
        ));
    }
    if let Some(i) = &x.clustered_on {
        report.push(skipped(
            "cluster",
            format!("{shown} on {i}"),
            "CLUSTER ON is PostgreSQL's own",
        ));
    }
    for k in &x.keys {
        // The key itself is created (by its columns); what only PostgreSQL says is not.
        let options: Vec<&str> = [
            (" INCLUDE (", "INCLUDE"),
            (" WITH (", "WITH"),
            (" DEFERRABLE", "DEFERRABLE"),
            (" USING INDEX TABLESPACE ", "TABLESPACE"),
        ]
        .into_iter()
        .filter(|(needle, _)| k.definition.contains(needle))
        .map(|(_, label)| label)
        .collect();
        if !options.is_empty() {
            report.push(skipped(
                "key option",
                format!("{shown}.{} ({})", k.name, options.join(", ")),
                "index options of a key are not carried to another engine",
            ));
        }
        // MariaDB/MySQL name every primary key PRIMARY; SQLite keeps no name.
        if k.primary && k.name != format!("{}_pkey", t.name) {
            report.push(skipped(
                "key name",
                format!("{shown}.{}", k.name),
                "a primary key's own name is not carried to another engine",
            ));
        }
    }
    if !x.row_security.is_empty() {
        report.push(
            SchemaItem::new("row security", shown.to_string(), Action::Skipped)
                .because(format!("{from}'s policies are SQL of their own; not translated")),
        );
    }
    for tr in &x.triggers {
        report.push(
            SchemaItem::new("trigger", format!("{shown}.{}", tr.name), Action::Skipped)
                .because(format!("written in {from}'s SQL; not translated")),
        );
    }
    for r in &x.rules {
        report.push(
            SchemaItem::new("rule", format!("{shown}.{}", r.name), Action::Skipped).because(format!(
                "{} has no rules; statements the rule rewrites on the source act plainly on the copy",
                dest.name()
            )),
        );
    }
    for s in &x.statistics {
        report.push(
            SchemaItem::new("statistics", format!("{shown}.{}", s.name), Action::Skipped)
                .because(format!("planner statistics objects are {from}'s own")),
        );
    }
    for (c, storage) in &x.column_storage {
        report.push(
            SchemaItem::new("storage", format!("{shown}.{c} ({storage})"), Action::Skipped)
                .because(format!("column storage is {from}'s own")),
        );
    }
    for (c, target) in &x.column_statistics {
        report.push(
            SchemaItem::new("statistics target", format!("{shown}.{c} ({target})"), Action::Skipped)
                .because(format!("statistics targets are {from}'s own")),
        );
    }
    if let Some(ty) = &x.of_type {
        report.push(
            SchemaItem::new("typed table", shown, Action::Mapped)
                .between(format!("OF {ty}"), "a plain table with the same columns"),
        );
    }
    reported_not_copied(shown, x, report);
    if let Some(trigger) = updated_now_trigger(out, &x.updated_now, dest, d) {
        let columns: Vec<&str> = x.updated_now.keys().map(String::as_str).collect();
        report.push(
            SchemaItem::new("trigger", format!("{shown}.{}", trigger.name), Action::Mapped).between(
                format!("{} ON UPDATE CURRENT_TIMESTAMP", columns.join(", ")),
                "an UPDATE trigger",
            ),
        );
        out.extras.triggers.push(trigger);
    }
    for f in &x.functions {
        report.push(
            SchemaItem::new("function", format!("{f} (used by {shown})"), Action::Skipped)
                .because(format!("written in {from}'s SQL; not translated")),
        );
    }
    for e in &x.extensions {
        report.push(
            SchemaItem::new("extension", format!("{e} (used by {shown})"), Action::Skipped).because(format!(
                "a {from} extension; the columns using its types are mapped one by one"
            )),
        );
    }
    for c in &x.user_collations {
        report.push(
            SchemaItem::new("collation", format!("{c} (used by {shown})"), Action::Skipped)
                .because(format!("a {from} collation; not carried to another engine")),
        );
    }
    let counter = source_counter(source.engine, t);
    let lines = report.len();
    match (dest, counter) {
        (Engine::Postgres, Some((said, next))) => auto_increment_continues(shown, d, &said, next, out, report),
        (Engine::Mysql, Some((said, next))) => auto_increment_on_mariadb(shown, &said, next, out, report),
        (Engine::Sqlite, counter) if source.engine == Engine::Mysql || counter.is_some() => {
            autoincrement_on_sqlite(shown, d, counter, out, report)
        }
        _ => {}
    }
    // A PostgreSQL key counting down, by steps other than 1, or below 1 numbers 1, 2, 3
    // on MariaDB and SQLite: said in its line (review r22k K6), not left unsaid.
    if let (true, Some((col, said))) = (dest != Engine::Postgres, counter_not_carried(source.engine, t)) {
        let col = format!("{shown}.{col}");
        report.truncate(lines);
        report.push(
            SchemaItem::new("identity", &col, Action::Mapped)
                .between(said, d.auto_increment().unwrap_or("INTEGER PRIMARY KEY"))
                .because("the copy numbers 1, 2, 3, ... upwards: inserts there that leave the column out get other ids than the source's"),
        );
    }
    // The counter's line (when one was carried) stands for the column's numbering: a
    // serial's `sequence` line and an identity's `GENERATED ALWAYS` line would list it twice.
    let carried: Vec<String> = report[lines..].iter().map(|i| i.name.clone()).collect();
    report.retain(|i| !(i.kind == "sequence" && carried.contains(&i.name)));
    for c in &t.columns {
        let col = format!("{shown}.{}", c.name);
        match (c.identity, not_numbered(t, c, dest)) {
            // A serial's (or any nextval default's) line is its `sequence` one.
            (Some(Identity::Serial), _) if c.default.is_some() => {}
            (Some(_), Some(why)) => report.push(SchemaItem::new("identity", col, Action::Skipped).because(why)),
            (Some(Identity::Always), None) if !carried.contains(&col) => report.push(
                SchemaItem::new("identity", col, Action::Mapped)
                    .between("GENERATED ALWAYS", d.auto_increment().unwrap_or("GENERATED BY DEFAULT")),
            ),
            _ => {}
        }
    }
}

/// The counter of `t`'s numbered column as the source `from` says it, and the value it
/// hands out next: MariaDB's AUTO_INCREMENT, SQLite's AUTOINCREMENT row of
/// `sqlite_sequence` (the last value handed out), the sequence of a PostgreSQL sole key's
/// identity or serial (a START WITH, a setval). Ids of deleted rows are never given
/// again there, so the copy must not give them either.
fn source_counter(from: Engine, t: &Table) -> Option<(String, i64)> {
    match from {
        Engine::Mysql => t
            .extras
            .auto_increment
            .map(|next| (format!("AUTO_INCREMENT={next}"), next)),
        Engine::Sqlite => {
            let seq = t.extras.sequences.iter().find(|s| s.name == "sqlite_sequence")?;
            let last = seq.last_value?;
            Some((
                format!("AUTOINCREMENT (sqlite_sequence at {last})"),
                last.checked_add(1)?,
            ))
        }
        // The sequence of the identity or serial column: the next value it hands out
        // (its start when never used). Steps other than 1 are not carried.
        Engine::Postgres => {
            let key = (t.primary_key.len() == 1).then(|| t.primary_key[0].as_str());
            let c = t
                .columns
                .iter()
                .find(|c| c.identity.is_some() && Some(c.name.as_str()) == key)?;
            let seq = t
                .extras
                .sequences
                .iter()
                .find(|s| s.column == c.name && s.increment == 1)?;
            let kind = match c.identity {
                Some(Identity::Always) => "GENERATED ALWAYS, ",
                Some(Identity::ByDefault) => "GENERATED BY DEFAULT, ",
                _ => "",
            };
            Some(match seq.last_value {
                Some(last) => (format!("{kind}sequence {} at {last}", seq.name), last.checked_add(1)?),
                None => (
                    format!("{kind}sequence {} starting at {}", seq.name, seq.start),
                    seq.start,
                ),
            })
        }
    }
}

/// A PostgreSQL sole key's sequence that MariaDB's AUTO_INCREMENT and SQLite's rowid
/// cannot follow (a step other than 1, or a next value below 1): the column and how the
/// source counts.
fn counter_not_carried(from: Engine, t: &Table) -> Option<(String, String)> {
    if from != Engine::Postgres || t.primary_key.len() != 1 {
        return None;
    }
    let c = t
        .columns
        .iter()
        .find(|c| c.identity.is_some() && c.name == t.primary_key[0])?;
    let seq = t.extras.sequences.iter().find(|s| s.column == c.name)?;
    let next = match seq.last_value {
        Some(last) => last.checked_add(seq.increment)?,
        None => seq.start,
    };
    (seq.increment != 1 || next < 1).then(|| {
        (
            c.name.clone(),
            format!("sequence {} handing out {next} next, by {}", seq.name, seq.increment),
        )
    })
}

/// A source's counter (`said`, handing out `next`) on a MariaDB copy (`out`): the table
/// is created with `AUTO_INCREMENT=next` (the copied keys raise it where they go past).
/// Before, it went on from the largest copied key.
fn auto_increment_on_mariadb(shown: &str, said: &str, next: i64, out: &mut Table, report: &mut Vec<SchemaItem>) {
    let Some(c) = out.columns.iter().find(|c| c.identity.is_some()) else {
        return;
    };
    // A column MariaDB does not number has its `skipped identity` line already.
    if next < 2 || not_numbered(out, c, Engine::Mysql).is_some() {
        return;
    }
    report.push(
        SchemaItem::new("identity", format!("{shown}.{}", c.name), Action::Mapped)
            .between(said, format!("AUTO_INCREMENT={next}"))
            .because("ids of deleted rows are not handed out again"),
    );
    out.extras.auto_increment = Some(next);
}

/// MariaDB's AUTO_INCREMENT (or a PostgreSQL key's sequence) on a SQLite copy (`out`): the key becomes `INTEGER PRIMARY
/// KEY AUTOINCREMENT` (a plain rowid key hands out again the id of a deleted last row)
/// and the table's row of `sqlite_sequence` is set to the source's counter (`counter`:
/// as said there, the next value) after the load, unless the copied keys went past it.
fn autoincrement_on_sqlite(
    shown: &str,
    d: &dyn Dialect,
    counter: Option<(String, i64)>,
    out: &mut Table,
    report: &mut Vec<SchemaItem>,
) {
    let Some(c) = out.columns.iter().find(|c| c.identity.is_some()) else {
        return;
    };
    let integer =
        d.column_type(&c.normalized_type, true) == "INTEGER" && !out.extras.column_types.contains_key(&c.name);
    // A column SQLite does not number has its `skipped identity` line already.
    if !integer || not_numbered(out, c, Engine::Sqlite).is_some() {
        return;
    }
    let last = counter.as_ref().map(|(_, next)| next - 1).filter(|last| *last > 0);
    let to = match last {
        Some(last) => format!("INTEGER PRIMARY KEY AUTOINCREMENT, sqlite_sequence at {last}"),
        None => "INTEGER PRIMARY KEY AUTOINCREMENT".to_string(),
    };
    let said = counter.map(|(said, _)| said).unwrap_or_else(|| "AUTO_INCREMENT".into());
    report.push(
        SchemaItem::new("identity", format!("{shown}.{}", c.name), Action::Mapped)
            .between(said, to)
            .because("ids of deleted rows are not handed out again"),
    );
    out.extras
        .sequences
        .push(tether_schema::Sequence::sqlite_autoincrement(&c.name, last));
}

/// A source's counter (`said`, handing out `next`: MariaDB's AUTO_INCREMENT, SQLite's
/// AUTOINCREMENT) on a PostgreSQL copy (`out`): the identity's sequence, named as
/// PostgreSQL would, goes on from `next` (ids of deleted rows are not given again) once
/// the rows are in, unless the copied keys went past it. Before, it went on from the
/// largest copied key.
fn auto_increment_continues(
    shown: &str,
    d: &dyn Dialect,
    said: &str,
    next: i64,
    out: &mut Table,
    report: &mut Vec<SchemaItem>,
) {
    let Some(c) = out.columns.iter().find(|c| c.identity == Some(Identity::AutoIncrement)) else {
        return;
    };
    let max = match d.column_type(&c.normalized_type, true).as_str() {
        "smallint" => i16::MAX as i64,
        "integer" => i32::MAX as i64,
        "bigint" => i64::MAX,
        _ => return,
    };
    if next < 2 || next > max {
        return;
    }
    // 63 bytes: PostgreSQL's longest name.
    let mut name = format!("{}_{}_seq", out.name, c.name);
    while name.len() > 63 {
        name.pop();
    }
    report.push(
        SchemaItem::new("identity", format!("{shown}.{}", c.name), Action::Mapped)
            .between(said, format!("identity sequence {name} continuing at {next}"))
            .because("after the load, unless the copied keys went past it"),
    );
    out.extras.sequences.push(tether_schema::Sequence {
        schema: out.schema.clone(),
        name,
        column: c.name.clone(),
        identity: true,
        owned: false,
        data_type: d.column_type(&c.normalized_type, true),
        start: 1,
        increment: 1,
        min: 1,
        max,
        cache: 1,
        cycle: false,
        last_value: Some(next - 1),
    });
}

/// The trigger that keeps MariaDB's `ON UPDATE CURRENT_TIMESTAMP` of the `columns`
/// (name -> fractional digits) on `dest` (table `out`, already under its destination
/// name): an UPDATE that changes another column and leaves such a column as it was
/// sets it to the current time, as MariaDB does. (MariaDB also leaves it alone when
/// the UPDATE assigns it its own value; a trigger cannot tell that from not assigning
/// it.) PostgreSQL: a BEFORE UPDATE trigger and its function, in the table's schema;
/// SQLite: an AFTER UPDATE trigger updating the row again, every such column in one
/// UPDATE (one trigger per column would fire the others' again), by rowid (Tether
/// creates rowid tables).
fn updated_now_trigger(
    out: &Table,
    columns: &std::collections::BTreeMap<String, u8>,
    dest: Engine,
    d: &dyn Dialect,
) -> Option<Trigger> {
    let stamped: Vec<(&String, u8)> = columns
        .iter()
        .filter(|(c, _)| out.columns.iter().any(|x| &x.name == *c && x.generated.is_none()))
        .map(|(c, digits)| (c, *digits))
        .collect();
    if stamped.is_empty() || out.columns.len() < 2 {
        return None;
    }
    // 63 bytes: PostgreSQL's longest name (SQLite has no limit; the same name).
    let mut name = format!("{}_on_update", out.name);
    while name.len() > 63 {
        name.pop();
    }
    let table = d.qualified(out);
    match dest {
        Engine::Postgres => {
            let function = d.table(out.schema.as_deref(), &name);
            let body: Vec<String> = stamped
                .iter()
                .map(|(c, _)| {
                    let col = d.ident(c);
                    format!(
                        "IF NEW.{col} IS NOT DISTINCT FROM OLD.{col} AND to_jsonb(NEW) IS DISTINCT FROM to_jsonb(OLD) \
                         THEN NEW.{col} := current_timestamp; END IF;"
                    )
                })
                .collect();
            // One line: the statements of a definition are split at ";\n".
            let definition = format!(
                "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $tether$BEGIN {} \
                 RETURN NEW; END$tether$;\n\
                 CREATE TRIGGER {} BEFORE UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}()",
                body.join(" "),
                d.ident(&name)
            );
            Some(Trigger {
                function: Some(format!("{}.{name}", out.schema.as_deref().unwrap_or("public"))),
                name,
                definition,
            })
        }
        Engine::Sqlite => {
            // Stamped when it is unchanged and another column changed.
            let due = |column: &str| {
                let others: Vec<String> = out
                    .columns
                    .iter()
                    .filter(|c| c.name != column)
                    .map(|c| format!("NEW.{0} IS NOT OLD.{0}", d.ident(&c.name)))
                    .collect();
                format!("NEW.{0} IS OLD.{0} AND ({1})", d.ident(column), others.join(" OR "))
            };
            let sets: Vec<String> = stamped
                .iter()
                .map(|(c, digits)| {
                    let now = match digits {
                        0 => "CURRENT_TIMESTAMP",
                        _ => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
                    };
                    format!("{0} = CASE WHEN {1} THEN {now} ELSE {0} END", d.ident(c), due(c))
                })
                .collect();
            let when: Vec<String> = stamped.iter().map(|(c, _)| format!("({})", due(c))).collect();
            let definition = format!(
                "CREATE TRIGGER {} AFTER UPDATE ON {table} FOR EACH ROW WHEN {} \
                 BEGIN UPDATE {table} SET {} WHERE rowid = NEW.rowid; END",
                d.ident(&name),
                when.join(" OR "),
                sets.join(", ")
            );
            Some(Trigger {
                name,
                definition,
                function: None,
            })
        }
        Engine::Mysql => None,
    }
}

/// A CHECK that an UNSIGNED MariaDB number stays not negative (the same SQL on
/// PostgreSQL and SQLite), and what the plan says of it; `None` for other columns.
pub(super) fn not_negative(
    c: &Column,
    unsigned: bool,
    col: &str,
    name: &str,
) -> Option<(Option<Check>, Option<String>)> {
    let number = c.normalized_type.is_integer()
        || matches!(c.normalized_type, DataType::Decimal { .. } | DataType::Float { .. });
    // The copy's type of an unsigned integer (one size up; SQLite's INTEGER) takes more
    // than the source's: its largest value too (a BIGINT's goes to numeric(20,0) on
    // PostgreSQL, which holds 20 digits; left as it was).
    let most = match c.normalized_type {
        DataType::Int { bytes, .. } if bytes < 8 => Some((1u64 << (8 * u32::from(bytes))) - 1),
        _ => None,
    };
    (unsigned && number).then(|| {
        let (definition, said) = match most {
            Some(most) => (
                format!("CHECK ({col} >= 0 AND {col} <= {most})"),
                format!("from 0 to {most}, as UNSIGNED"),
            ),
            None => (format!("CHECK ({col} >= 0)"), "not negative, as UNSIGNED".to_string()),
        };
        (
            Some(Check {
                name: name.to_string(),
                definition,
                exclusion: false,
            }),
            Some(format!("with CHECK {name}: {said}")),
        )
    })
}

/// What keeps a MariaDB column's values on PostgreSQL where its type there takes more:
/// an UNSIGNED number a CHECK that it is not negative, a SET a CHECK that it lists
/// only its members; and what the plan says of it (YEAR has no type there).
fn mariadb_values_on_postgres(table: &str, c: &Column, d: &dyn Dialect) -> (Option<Check>, Option<String>) {
    let col = d.ident(&c.name);
    let name = format!("{table}_{}_check", c.name);
    let ty = c.engine_type.to_ascii_lowercase();
    let unsigned = ty.split_whitespace().any(|w| w == "unsigned");
    if let Some(labels) = super::set_labels(c) {
        let quoted: Vec<String> = labels
            .iter()
            .map(|l| d.literal(&tether_connect::Value::Text(l.clone())))
            .collect();
        let definition = format!(
            "CHECK ({col} = '' OR string_to_array({col}, ',') <@ ARRAY[{}]::text[])",
            quoted.join(", ")
        );
        let why = format!("with CHECK {name}: a comma-separated list of its members");
        return (
            Some(Check {
                name,
                definition,
                exclusion: false,
            }),
            Some(why),
        );
    }
    if let Some(check) = not_negative(c, unsigned, &col, &name) {
        return check;
    }
    if ty.starts_with("year") {
        return (
            None,
            Some("postgres has no YEAR type: the values are copied as their text ('2024')".to_string()),
        );
    }
    if c.normalized_type == DataType::Time {
        return (None, Some(TIME_IS_A_DURATION.to_string()));
    }
    (None, None)
}

/// What a MariaDB/MySQL TIME column copied into a PostgreSQL `time` cannot keep.
const TIME_IS_A_DURATION: &str = "a MariaDB/MySQL TIME is a duration (-838:59:59 to 838:59:59), a postgres time \
     a time of day (00:00:00 to 24:00:00): a value outside that is refused, naming its row (an interval column \
     would hold it)";

/// Why `dest` will not number column `c` of `t` itself (MariaDB's AUTO_INCREMENT and
/// SQLite's rowid serve a table's sole integer primary key only), or None.
fn not_numbered(t: &Table, c: &Column, dest: Engine) -> Option<String> {
    let sole_key = t.primary_key.len() == 1 && t.primary_key[0] == c.name && c.normalized_type.is_integer();
    (dest != Engine::Postgres && !sole_key).then(|| {
        format!(
            "{} numbers a table's sole integer primary key only; inserts there must give {}",
            dest.name(),
            c.name
        )
    })
}

/// The decimal type holding every value of a column declared `declared` (its neutral
/// type `ty`) where the declaration has a scale above its precision or below zero
/// (PostgreSQL 15), which other engines refuse (MariaDB's 1427) or would read as a
/// narrower type; None for any other column.
fn odd_decimal(declared: &str, ty: &DataType) -> Option<DataType> {
    if !matches!(ty, DataType::Decimal { .. }) {
        return None;
    }
    let (p, s) = tether_schema::types::declared_decimal(declared)?;
    (s < 0 || s > p).then(|| tether_schema::types::decimal_holding(p, s))
}

/// Why a decimal column's type on `dest` differs from the declared one beyond its
/// spelling: widened to hold every value of an odd scale (`widened`), or cut to the 65
/// digits (30 after the point) MariaDB/MySQL keep, where a value needing more is
/// refused, naming its row.
fn decimal_room(declared: &str, widened: bool, ty: &DataType, dest: Engine) -> Option<String> {
    let DataType::Decimal {
        precision: Some(p),
        scale,
    } = ty
    else {
        return None;
    };
    let s = scale.unwrap_or(0);
    let mut why = Vec::new();
    if widened {
        why.push(format!(
            "{declared} holds values of up to {p} digits, {s} of them after the point; {} refuses or narrows \
             that declaration",
            dest.name()
        ));
    }
    if dest == Engine::Mysql && (*p > 65 || s > 30) {
        why.push(
            "mysql keeps at most 65 digits, 30 of them after the point: a value needing more is refused, naming \
             its row"
                .to_string(),
        );
    }
    (!why.is_empty()).then(|| why.join("; "))
}

/// The collation of a MariaDB ENUM made from another engine's enum: labels compared
/// byte for byte, as PostgreSQL compares an enum's values.
const ENUM_COLLATION: &str = "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";

/// The collation of a MariaDB varchar holding an enum's labels exactly: bytes compared,
/// trailing spaces too (NO PAD).
const EXACT_TEXT_COLLATION: &str = "CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin";

/// True when a MariaDB ENUM holds each of `labels` as written: MariaDB strips trailing
/// spaces from its members (so 'mid ' is stored 'mid', and 'mid' beside 'mid ' is
/// refused with 1291); under [`ENUM_COLLATION`] labels apart in case or accents stay
/// apart.
pub(super) fn enum_holds(labels: &[String]) -> bool {
    !labels.iter().any(|l| l.ends_with(' '))
}

/// The collation clause that makes a text column compare without case on `dest`.
fn caseless(dest: Engine) -> Option<&'static str> {
    match dest {
        Engine::Sqlite => Some("COLLATE NOCASE"),
        Engine::Mysql => Some("CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"),
        Engine::Postgres => None,
    }
}

/// Whether column `name` of `t` is caseless by its own type or collation on PostgreSQL
/// (`citext`, a nondeterministic collation): created caseless elsewhere ([`caseless`]).
fn own_caseless(source: &tether_schema::Schema, t: &Table, name: &str) -> bool {
    let x = &t.extras;
    let citext = x
        .extension_types
        .get(name)
        .is_some_and(|ty| ty == "citext" || ty.ends_with(".citext"))
        || t.column(name).is_some_and(|c| c.engine_type.contains("citext"));
    let nondeterministic = x.collations.get(name).is_some_and(|named| {
        let bare = named.replace('"', "");
        source
            .objects
            .collations
            .iter()
            .any(|k| k.name == bare && k.definition.contains("deterministic = false"))
    });
    citext || nondeterministic
}

/// For a column of `t` that references another (an FK's child column): whether the
/// key it references, followed up the chain, is caseless ([`own_caseless`]); `None`
/// for a column no FK of a PostgreSQL source starts from.
fn parent_caseless(source: &tether_schema::Schema, t: &Table, name: &str, depth: usize) -> Option<bool> {
    if source.engine != Engine::Postgres || depth > 32 {
        return None;
    }
    t.foreign_keys.iter().find_map(|fk| {
        let i = fk.columns.iter().position(|c| c == name)?;
        let parent = source.table(&fk.referenced_name())?;
        let p = fk.referenced_columns.get(i)?;
        parent.column(p)?;
        Some(parent_caseless(source, parent, p, depth + 1).unwrap_or_else(|| own_caseless(source, parent, p)))
    })
}
