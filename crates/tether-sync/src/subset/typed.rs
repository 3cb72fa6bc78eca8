//! PostgreSQL foreign keys whose two sides have different types (`char(6)` child of a
//! `varchar` key, `float4` of `float8`, `int4` of `numeric`, a domain of its base type).
//! Such an FK compares with the operator it was created with (`pg_constraint.conpfeqop`,
//! the parent's value on the left, the child's cast to the operator's right type): no
//! comparison in either column's own type gives the same answer (a `char(6)` `'ab    '`
//! as text is not `'ab'`; a `float4` `0.1` is `0.10000000149011612` as `float8`; a
//! `numeric` `1.0` is no `int4`). Subset reads along such an FK compare with that
//! operator: the values asked for are sent in the type of the column they were read
//! from and cast by the server, as the FK casts them.

use std::collections::HashMap;
use std::sync::Arc;

use tether_connect::{keyset, Connection, Value};
use tether_schema::{ForeignKey, Table, TableName};

use crate::error::SyncError;

/// One column pair of a typed FK: how the FK compares a child value with a parent value.
#[derive(Debug, Clone)]
pub(super) struct Pair {
    pub child_column: String,
    pub parent_column: String,
    /// The columns' types, qualified and without a length (`pg_catalog.bpchar`: a bare
    /// `character` would be `char(1)`).
    pub child_type: String,
    pub parent_type: String,
    /// `OPERATOR(pg_catalog.=)`, its left (parent) and right (child) operand types.
    pub op: String,
    pub left: String,
    pub right: String,
    /// The parent column's collation, where the child column's differs.
    pub collate: Option<String>,
}

/// A typed FK: its name, and its pairs in the FK's column order.
#[derive(Debug)]
pub(super) struct TypedFk {
    pub name: String,
    pub pairs: Vec<Pair>,
}

impl TypedFk {
    /// `fk_name (c1 char(6) -> p1 varchar)` for messages.
    pub fn shown(&self) -> String {
        let pairs: Vec<String> = self
            .pairs
            .iter()
            .map(|p| {
                format!(
                    "{} {} -> {} {}",
                    p.child_column, p.child_type, p.parent_column, p.parent_type
                )
            })
            .collect();
        format!("{} ({})", self.name, pairs.join(", "))
    }
}

/// The typed FKs among `edges` (child, FK), by child table and FK name. PostgreSQL only;
/// FKs the catalog does not hold (virtual FKs of the job) are compared as before, and so
/// are pairs of integer types (`int2`/`int4`/`int8`: read as integers, compared by
/// value, and a key as `int8` compares across them) and of `text`/`varchar` (both compare
/// as text): the usual keys keep their fast reads.
pub(super) async fn read(
    source: &mut Connection,
    edges: &[(&Table, &ForeignKey)],
) -> Result<HashMap<(TableName, String), Arc<TypedFk>>, SyncError> {
    if edges.is_empty() {
        return Ok(HashMap::new());
    }
    let d = source.dialect();
    let wanted: Vec<String> = edges
        .iter()
        .enumerate()
        .map(|(n, (t, fk))| {
            format!(
                "({n}, {}::regclass, {})",
                d.literal(&Value::Text(d.qualified(t))),
                d.literal(&Value::Text(fk.name.clone()))
            )
        })
        .collect();
    let ty = "(SELECT format('%I.%I', tn.nspname, ty.typname) FROM pg_catalog.pg_type ty \
              JOIN pg_catalog.pg_namespace tn ON tn.oid = ty.typnamespace WHERE ty.oid = {})";
    let ty = |oid: &str| ty.replace("{}", oid);
    let sql = format!(
        "SELECT w.n::text, fa.attname::text, pa.attname::text, {}, {}, \
         format('OPERATOR(%I.%s)', opn.nspname, o.oprname), {}, {}, \
         CASE WHEN pa.attcollation <> fa.attcollation AND pa.attcollation <> 0 AND fa.attcollation <> 0 THEN \
           (SELECT format('%I.%I', cn.nspname, co.collname) FROM pg_catalog.pg_collation co \
            JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = pa.attcollation) END, \
         (fa.atttypid <> pa.atttypid \
          AND NOT (fa.atttypid IN ({ints}) AND pa.atttypid IN ({ints})) \
          AND NOT (fa.atttypid IN ({texts}) AND pa.atttypid IN ({texts})))::text \
         FROM (VALUES {}) AS w(n, rel, name) \
         JOIN pg_catalog.pg_constraint c ON c.conrelid = w.rel AND c.conname = w.name AND c.contype = 'f' \
         CROSS JOIN LATERAL unnest(c.conkey, c.confkey, c.conpfeqop) AS k(fcol, pcol, op) \
         JOIN pg_catalog.pg_attribute fa ON fa.attrelid = c.conrelid AND fa.attnum = k.fcol \
         JOIN pg_catalog.pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.pcol \
         JOIN pg_catalog.pg_operator o ON o.oid = k.op \
         JOIN pg_catalog.pg_namespace opn ON opn.oid = o.oprnamespace",
        ty("fa.atttypid"),
        ty("pa.atttypid"),
        ty("o.oprleft"),
        ty("o.oprright"),
        wanted.join(", "),
        ints = "'pg_catalog.int2'::regtype, 'pg_catalog.int4'::regtype, 'pg_catalog.int8'::regtype",
        texts = "'pg_catalog.text'::regtype, 'pg_catalog.varchar'::regtype",
    );
    let rows = source.query(&sql, &[]).await?;
    let text = |v: &Value| match v {
        Value::Text(t) => t.clone(),
        other => other.display(),
    };
    let mut by_edge: HashMap<usize, (bool, Vec<Pair>)> = HashMap::new();
    for row in rows {
        let n: usize = text(&row[0]).parse().expect("an edge number");
        let entry = by_edge.entry(n).or_default();
        entry.0 |= text(&row[9]) == "true";
        entry.1.push(Pair {
            child_column: text(&row[1]),
            parent_column: text(&row[2]),
            child_type: text(&row[3]),
            parent_type: text(&row[4]),
            op: text(&row[5]),
            left: text(&row[6]),
            right: text(&row[7]),
            collate: match &row[8] {
                Value::Null => None,
                v => Some(text(v)),
            },
        });
    }
    let mut out = HashMap::new();
    for (n, (differs, pairs)) in by_edge {
        let (table, fk) = edges[n];
        // In the FK's column order; an FK the model reads otherwise stays as it was.
        let ordered: Option<Vec<Pair>> = fk
            .columns
            .iter()
            .zip(&fk.referenced_columns)
            .map(|(c, p)| {
                pairs
                    .iter()
                    .find(|x| &x.child_column == c && &x.parent_column == p)
                    .cloned()
            })
            .collect();
        if let (true, Some(pairs)) = (differs, ordered) {
            out.insert(
                (table.table_name(), fk.name.clone()),
                Arc::new(TypedFk {
                    name: fk.name.clone(),
                    pairs,
                }),
            );
        }
    }
    Ok(out)
}

/// Which side of a typed FK an ask reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Toward {
    /// The parent rows of child values (the values in the child columns' types).
    Parent,
    /// The child rows of parent values (the values in the parent columns' types).
    Child,
}

/// The condition on `table` (the side `toward` says) for the rows `keys` match through
/// `fk`: `EXISTS (SELECT 1 FROM unnest(<values>) AS tether_k(...) WHERE <parent value>
/// OPERATOR(..) <child value>::<right> AND ...)`, both sides cast as the FK casts them.
pub(super) fn condition(table: &Table, fk: &TypedFk, toward: Toward, keys: &[Vec<Value>]) -> String {
    let d = tether_connect::dialect_of(tether_connect::Engine::Postgres);
    let this = d.qualified(table);
    let mut arrays = Vec::with_capacity(fk.pairs.len());
    let mut names = Vec::with_capacity(fk.pairs.len());
    let mut tests = Vec::with_capacity(fk.pairs.len());
    for (i, p) in fk.pairs.iter().enumerate() {
        let v = format!("tether_k.tether_v{i}");
        names.push(format!("tether_v{i}"));
        match toward {
            Toward::Parent => {
                arrays.push(keyset::postgres_typed_array(keys, i, &p.child_type));
                let col = format!("{this}.{}", d.ident(&p.parent_column));
                tests.push(format!("{col}::{} {} {v}::{}", p.left, p.op, p.right));
            }
            Toward::Child => {
                arrays.push(keyset::postgres_typed_array(keys, i, &p.parent_type));
                let col = format!("{this}.{}", d.ident(&p.child_column));
                let collate = p.collate.as_ref().map(|c| format!(" COLLATE {c}")).unwrap_or_default();
                tests.push(format!("{v}::{} {} ({col}::{}{collate})", p.left, p.op, p.right));
            }
        }
    }
    format!(
        "EXISTS (SELECT 1 FROM unnest({}) AS tether_k({}) WHERE {})",
        arrays.join(", "),
        names.join(", "),
        tests.join(" AND ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn char_to_varchar() -> TypedFk {
        TypedFk {
            name: "c_k_fkey".into(),
            pairs: vec![Pair {
                child_column: "k".into(),
                parent_column: "code".into(),
                child_type: "pg_catalog.bpchar".into(),
                parent_type: "pg_catalog.\"varchar\"".into(),
                op: "OPERATOR(pg_catalog.=)".into(),
                left: "pg_catalog.text".into(),
                right: "pg_catalog.text".into(),
                collate: Some("pg_catalog.\"C\"".into()),
            }],
        }
    }

    fn table(name: &str) -> Table {
        Table {
            schema: Some("public".into()),
            name: name.into(),
            ..Table::default()
        }
    }

    #[test]
    fn reads_compare_with_the_fk_operator_and_casts_on_either_side() {
        let fk = char_to_varchar();
        let keys = vec![vec![Value::Text("ab    ".into())], vec![Value::Text("x\"y".into())]];
        assert_eq!(
            condition(&table("p"), &fk, Toward::Parent, &keys),
            "EXISTS (SELECT 1 FROM unnest('{\"ab    \",\"x\\\"y\"}'::pg_catalog.bpchar[]) AS tether_k(tether_v0) \
             WHERE \"public\".\"p\".\"code\"::pg_catalog.text OPERATOR(pg_catalog.=) tether_k.tether_v0::pg_catalog.text)"
        );
        assert_eq!(
            condition(&table("c"), &fk, Toward::Child, &keys[..1]),
            "EXISTS (SELECT 1 FROM unnest('{\"ab    \"}'::pg_catalog.\"varchar\"[]) AS tether_k(tether_v0) \
             WHERE tether_k.tether_v0::pg_catalog.text OPERATOR(pg_catalog.=) \
             (\"public\".\"c\".\"k\"::pg_catalog.text COLLATE pg_catalog.\"C\"))"
        );
        assert_eq!(
            fk.shown(),
            "c_k_fkey (k pg_catalog.bpchar -> code pg_catalog.\"varchar\")"
        );
    }

    #[test]
    fn typed_arrays_write_each_value_as_its_type_reads_it() {
        let keys = vec![
            vec![Value::Float(0.1)],
            vec![Value::Float(f64::NEG_INFINITY)],
            vec![Value::Float(-0.0)],
            vec![Value::Int(-7)],
            vec![Value::Bytes(vec![0xab, 0x01])],
            vec![Value::Bool(true)],
        ];
        assert_eq!(
            keyset::postgres_typed_array(&keys, 0, "pg_catalog.float4"),
            "'{\"0.1\",\"-Infinity\",\"-0\",\"-7\",\"\\\\xab01\",\"true\"}'::pg_catalog.float4[]"
        );
    }
}
