//! MariaDB/MySQL key parts another engine spells otherwise: a prefix part `name(3)`
//! becomes the expression `substr(name, 1, 3)` (an index on the whole column refuses
//! long values PostgreSQL cannot index, and a unique one takes rows the source refuses),
//! a `DESC` part stays `DESC`, and `UNIQUE (.., p WITHOUT OVERLAPS)` becomes an EXCLUDE
//! constraint over the period's range on PostgreSQL (elsewhere it is reported weaker).

use super::*;
use tether_schema::objects::KeyParts;

/// The words PostgreSQL's `quote_ident` quotes though they are lower-case names (its
/// keywords other than the unreserved ones, `pg_get_keywords()`, PostgreSQL 15).
const PG_QUOTED_WORDS: [&str; 151] = [
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "between",
    "bigint",
    "binary",
    "bit",
    "boolean",
    "both",
    "case",
    "cast",
    "char",
    "character",
    "check",
    "coalesce",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "dec",
    "decimal",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "exists",
    "extract",
    "false",
    "fetch",
    "float",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "greatest",
    "group",
    "grouping",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "inout",
    "int",
    "integer",
    "intersect",
    "interval",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "least",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "national",
    "natural",
    "nchar",
    "none",
    "normalize",
    "not",
    "notnull",
    "null",
    "nullif",
    "numeric",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "out",
    "outer",
    "overlaps",
    "overlay",
    "placing",
    "position",
    "precision",
    "primary",
    "real",
    "references",
    "returning",
    "right",
    "row",
    "select",
    "session_user",
    "setof",
    "similar",
    "smallint",
    "some",
    "substring",
    "symmetric",
    "table",
    "tablesample",
    "then",
    "time",
    "timestamp",
    "to",
    "trailing",
    "treat",
    "trim",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "values",
    "varchar",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
    "xmlattributes",
    "xmlconcat",
    "xmlelement",
    "xmlexists",
    "xmlforest",
    "xmlnamespaces",
    "xmlparse",
    "xmlpi",
    "xmlroot",
    "xmlserialize",
    "xmltable",
];

/// A name as PostgreSQL's `quote_ident` (and so `pg_get_indexdef`) prints it: bare when
/// it is a lower-case name and no keyword. (Staging rewrites `ON schema.table USING`
/// in an index's definition in that form.)
fn pg_name(name: &str) -> String {
    let plain = name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match plain && !PG_QUOTED_WORDS.contains(&name) {
        true => name.to_string(),
        false => tether_schema::sql::ident(Engine::Postgres, name),
    }
}

/// True when some part of the key is no whole column in ascending order.
fn reshaped(p: &KeyParts) -> bool {
    p.prefixes.iter().any(Option::is_some) || p.descending.iter().any(|d| *d)
}

/// The key's parts as the source declares them: `name(3), qty DESC`.
fn declared(columns: &[String], p: &KeyParts) -> String {
    let parts: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut s = c.clone();
            if let Some(Some(n)) = p.prefixes.get(i) {
                s.push_str(&format!("({n})"));
            }
            if p.descending.get(i).copied().unwrap_or(false) {
                s.push_str(" DESC");
            }
            s
        })
        .collect();
    parts.join(", ")
}

/// The key list of the destination's index: `substr("name", 1, 3), "qty" DESC`.
fn key_list(d: &dyn Dialect, columns: &[String], p: &KeyParts) -> String {
    let parts: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut s = match p.prefixes.get(i) {
                Some(Some(n)) => format!("substr({}, 1, {n})", d.ident(c)),
                _ => d.ident(c),
            };
            if p.descending.get(i).copied().unwrap_or(false) {
                s.push_str(" DESC");
            }
            s
        })
        .collect();
    parts.join(", ")
}

/// `CREATE [UNIQUE] INDEX` of table `out` on `dest`: on PostgreSQL as
/// `pg_get_indexdef` prints it (`ON schema.table USING btree (..)`).
fn index_definition(d: &dyn Dialect, out: &Table, name: &str, unique: bool, list: &str) -> String {
    let unique = if unique { "UNIQUE " } else { "" };
    match d.engine() {
        Engine::Postgres => format!(
            "CREATE {unique}INDEX {} ON {}.{} USING btree ({list})",
            d.ident(name),
            pg_name(out.schema.as_deref().unwrap_or("public")),
            pg_name(&out.name)
        ),
        _ => format!(
            "CREATE {unique}INDEX {} ON {} ({list})",
            d.ident(name),
            d.qualified(out)
        ),
    }
}

/// An index renamed on the destination (`distinct_index_names`): its definition too.
pub(super) fn renamed(definition: &str, d: &dyn Dialect, old: &str, new: &str) -> String {
    definition.replacen(
        &format!("INDEX {} ON ", d.ident(old)),
        &format!("INDEX {} ON ", d.ident(new)),
        1,
    )
}

/// Source table `t`'s unique keys with prefix or `DESC` parts, or `WITHOUT OVERLAPS`,
/// on another engine (`out` is the destination's model): each reported `mapped` with
/// what it becomes.
pub(super) fn unique_keys_with_parts(
    t: &Table,
    shown: &str,
    d: &dyn Dialect,
    out: &mut Table,
    report: &mut Vec<SchemaItem>,
) {
    let dest = d.engine();
    for u in t.unique_keys.iter().filter(|u| u.predicate.is_none()) {
        let Some(p) = t.extras.key_parts.get(&u.name) else {
            continue;
        };
        let item = SchemaItem::new("unique key", format!("{shown}.{}", u.name), Action::Mapped);
        if let Some((period, start, end)) = &p.without_overlaps {
            let others: Vec<&String> = u.columns.iter().filter(|c| *c != start && *c != end).collect();
            let from = format!(
                "UNIQUE ({}{period} WITHOUT OVERLAPS)",
                others.iter().map(|c| format!("{c}, ")).collect::<String>()
            );
            if dest != Engine::Postgres {
                report.push(
                    item.between(from, format!("UNIQUE ({})", u.columns.join(", ")))
                        .because(format!(
                    "{} has no WITHOUT OVERLAPS: the copy takes two rows of the same {} whose periods ({start}, \
                     {end}) overlap, which the source refuses",
                    dest.name(),
                    others.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
                )),
                );
                continue;
            }
            // The period is [start, end), as MariaDB's.
            let range = match t.column(start).map(|c| &c.normalized_type) {
                Some(DataType::Date) => "daterange",
                Some(DataType::Timestamp { tz: true }) => "tstzrange",
                _ => "tsrange",
            };
            let mut parts: Vec<String> = others.iter().map(|c| format!("{} WITH =", d.ident(c))).collect();
            parts.push(format!("{range}({}, {}) WITH &&", d.ident(start), d.ident(end)));
            let definition = format!("EXCLUDE USING gist ({})", parts.join(", "));
            report.push(item.between(from, &definition).because(
                "with the btree_gist extension (for `=` in a gist index), created on the destination where \
                 missing: a role that may not create it fails the run before any row is written",
            ));
            out.unique_keys.retain(|k| k.name != u.name);
            out.extras.checks.push(Check {
                name: u.name.clone(),
                definition,
                exclusion: true,
            });
            if !out.extras.extensions.iter().any(|e| e == "btree_gist") {
                out.extras.extensions.push("btree_gist".into());
            }
        } else if reshaped(p) {
            let list = key_list(d, &u.columns, p);
            // The reason is the prefix where there is one, else the DESC part (a
            // constraint's columns take no order there; an index's do: review r22k K7).
            let why = match p.prefixes.iter().any(Option::is_some) {
                true => format!(
                    "{} keys no column prefix: the prefix is an expression there",
                    dest.name()
                ),
                false => format!(
                    "a {} UNIQUE constraint takes no DESC part; a unique index does",
                    dest.name()
                ),
            };
            report.push(
                item.between(
                    format!("UNIQUE ({})", declared(&u.columns, p)),
                    format!("a unique index on ({list})"),
                )
                .because(why),
            );
            out.unique_keys.retain(|k| k.name != u.name);
            out.extras.indexes.push(Index {
                name: u.name.clone(),
                columns: u.columns.clone(),
                unique: true,
                method: "btree".into(),
                predicate: None,
                definition: index_definition(d, out, &u.name, true, &list),
                comment: None,
            });
        }
    }
}

/// Source index `i` of table `t` on another engine (`out` is the destination's model):
/// its definition there, and the plan's line, where a part is a prefix or `DESC`.
pub(super) fn index_with_parts(
    t: &Table,
    i: &Index,
    shown: &str,
    d: &dyn Dialect,
    out: &Table,
) -> Option<(String, SchemaItem)> {
    let p = match t.extras.key_parts.get(&i.name) {
        Some(p) => p.clone(),
        None => descending_parts(i)?,
    };
    if !reshaped(&p) {
        return None;
    }
    let p = &p;
    let list = key_list(d, &i.columns, p);
    let item = SchemaItem::new("index", format!("{shown}.{}", i.name), Action::Mapped)
        .between(format!("({})", declared(&i.columns, p)), format!("({list})"));
    let item = match p.prefixes.iter().any(Option::is_some) {
        true => item.because(format!(
            "{} keys no column prefix: the prefix is an expression there",
            d.engine().name()
        )),
        false => item,
    };
    Some((index_definition(d, out, &i.name, i.unique, &list), item))
}

/// The `DESC` parts of a PostgreSQL or SQLite index on columns, read from its definition
/// (`CREATE INDEX i ON public.t USING btree (p DESC, q)`, `... ON t(p DESC)`); MariaDB's
/// come in `key_parts`. None when the list does not match the index's columns.
fn descending_parts(i: &Index) -> Option<KeyParts> {
    let def = &i.definition;
    // The first ` ON ` outside a quoted name (an index may be named `"w ON (a DESC)"`).
    let upper = def.to_ascii_uppercase();
    let mut quoted: Option<char> = None;
    let on = def.char_indices().find_map(|(at, ch)| {
        match (quoted, ch) {
            (Some(q), _) if ch == q => quoted = None,
            (Some(_), _) => {}
            (None, '"' | '`' | '[') => quoted = Some(if ch == '[' { ']' } else { ch }),
            (None, ' ') if upper[at..].starts_with(" ON ") => return Some(at),
            _ => {}
        }
        None
    })?;
    let open = on + def[on..].find('(')?;
    let (mut depth, mut quoted, mut parts, mut start) = (0usize, None, Vec::new(), open + 1);
    for (at, ch) in def[open..].char_indices().map(|(k, ch)| (open + k, ch)) {
        match (quoted, ch) {
            (Some(q), _) if ch == q => quoted = None,
            (Some(_), _) => {}
            (None, '"' | '`' | '\'' | '[') => quoted = Some(if ch == '[' { ']' } else { ch }),
            (None, '(') => depth += 1,
            (None, ',') if depth == 1 => {
                parts.push(&def[start..at]);
                start = at + 1;
            }
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    parts.push(&def[start..at]);
                    break;
                }
            }
            _ => {}
        }
    }
    if parts.len() != i.columns.len() {
        return None;
    }
    let descending = parts
        .iter()
        .map(|p| {
            let words: Vec<String> = p.split_whitespace().map(str::to_ascii_uppercase).collect();
            words.len() > 1 && words[1..].iter().any(|w| w == "DESC")
        })
        .collect();
    Some(KeyParts {
        prefixes: vec![None; i.columns.len()],
        descending,
        without_overlaps: None,
    })
}
