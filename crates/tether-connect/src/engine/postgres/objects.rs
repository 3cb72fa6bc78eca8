//! PostgreSQL objects around the tables, read with the server's own printers
//! (`pg_get_indexdef`, `pg_get_constraintdef`, `pg_get_triggerdef`, `pg_get_viewdef`,
//! `pg_get_functiondef`, `format_type`), as `pg_dump` reads them.

use std::collections::{HashMap, HashSet};

use tether_schema::{
    Check, Collation, Extension, Function, Index, KeyConstraint, NamedStatement, PartitionConstraint, SchemaObjects,
    Sequence, Table, TableExtras, TableName, Trigger, TypeKind, UserType, View,
};
use tokio_postgres::Client;

use crate::error::ConnectError;

/// CHECK and EXCLUDE constraints declared on the table itself (inherited ones come
/// with `INHERITS` and partitions).
const CHECKS: &str = "
SELECT con.conrelid, con.conname::text, pg_get_constraintdef(con.oid), con.contype = 'x'
FROM pg_constraint con
WHERE con.conrelid = ANY($1::oid[]) AND con.contype IN ('c', 'x') AND con.conislocal
ORDER BY 1, 2";

/// Indexes that back no PRIMARY KEY, UNIQUE or EXCLUDE constraint.
const INDEXES: &str = "
SELECT i.indrelid, ic.relname::text, pg_get_indexdef(i.indexrelid), i.indisunique, am.amname::text,
  pg_get_expr(i.indpred, i.indrelid),
  ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE k.ord <= i.indnkeyatts ORDER BY k.ord),
  coalesce((SELECT bool_or(k = 0) FROM unnest(i.indkey::int2[]) k), false),
  obj_description(i.indexrelid, 'pg_class')
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
WHERE i.indrelid = ANY($1::oid[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x'))
ORDER BY 1, 2";

/// Indexes a partition has of its own (not created through its partitioned table),
/// listed under the root table: the copy's partitions have the same names.
const PARTITION_INDEXES: &str = "
SELECT pg_partition_root(c.oid)::oid, ic.relname::text, pg_get_indexdef(i.indexrelid), i.indisunique,
  am.amname::text, pg_get_expr(i.indpred, i.indrelid), ARRAY[]::text[], true,
  obj_description(i.indexrelid, 'pg_class')
FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam
WHERE c.relispartition AND pg_partition_root(c.oid)::oid = ANY($1::oid[])
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.conrelid = i.indrelid)
ORDER BY 1, 2";

/// Primary keys, UNIQUE, EXCLUDE and CHECK constraints a partition declares of its own
/// (not through its partitioned table, not inherited from it), listed under the root
/// table with the partition's name.
const PARTITION_CONSTRAINTS: &str = "
SELECT pg_partition_root(c.oid)::oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
  con.conname::text, pg_get_constraintdef(con.oid), con.contype <> 'c'
FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relispartition AND pg_partition_root(c.oid)::oid = ANY($1::oid[])
  AND con.contype IN ('p', 'u', 'x', 'c') AND con.conparentid = 0 AND con.coninhcount = 0
ORDER BY 1, 2, 3";

/// The storage parameters of index `ic` (`pg_class`), as `WITH (...)` takes them:
/// `fillfactor='70'`, or NULL.
pub const INDEX_OPTIONS: &str = "(SELECT string_agg(quote_ident(split_part(o, '=', 1)) || '=' || \
  quote_literal(substr(o, strpos(o, '=') + 1)), ', ') FROM unnest(ic.reloptions) o)";

/// Primary keys and UNIQUE constraints with their index's storage parameters
/// (`pg_get_constraintdef` leaves those out), as `pg_dump` declares them.
fn keys_query() -> String {
    format!(
        "SELECT c.conrelid, c.conname::text, c.contype = 'p', pg_get_constraintdef(c.oid), c.condeferrable, \
         c.condeferred, {INDEX_OPTIONS} \
         FROM pg_constraint c JOIN pg_class ic ON ic.oid = c.conindid \
         WHERE c.conrelid = ANY($1::oid[]) AND c.contype IN ('p', 'u') AND c.conparentid = 0 ORDER BY 1, 2"
    )
}

/// Comments on the tables' own constraints (keys, CHECKs, foreign keys).
const CONSTRAINT_COMMENTS: &str = "
SELECT c.conrelid, c.conname::text, d.description
FROM pg_constraint c JOIN pg_description d ON d.classoid = 'pg_constraint'::regclass AND d.objoid = c.oid
WHERE c.conrelid = ANY($1::oid[]) AND c.conparentid = 0 AND c.conislocal
ORDER BY 1, 2";

/// The index each table is clustered on.
const CLUSTERED: &str = "
SELECT i.indrelid, ic.relname::text
FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
WHERE i.indrelid = ANY($1::oid[]) AND i.indisclustered";

/// The tables' triggers, and those a partition has of its own (not through its
/// partitioned table), listed under the root table; then the table they are on, and
/// for a trigger on a view (INSTEAD OF) of the schemas `$2` (all when empty) the
/// view's schema and name.
const TRIGGERS: &str = "
SELECT CASE WHEN c.relispartition THEN pg_partition_root(c.oid) ELSE t.tgrelid END::oid, t.tgname::text,
  pg_get_triggerdef(t.oid), fn.nspname::text || '.' || p.proname::text, t.tgenabled::text,
  quote_ident(n.nspname) || '.' || quote_ident(c.relname),
  CASE WHEN c.relkind = 'v' THEN n.nspname::text END, c.relname::text
FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace fn ON fn.oid = p.pronamespace
JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE (t.tgrelid = ANY($1::oid[]) OR (c.relispartition AND pg_partition_root(c.oid)::oid = ANY($1::oid[]))
       OR (c.relkind = 'v' AND c.oid >= 16384 AND (cardinality($2::text[]) = 0 OR n.nspname = ANY($2::text[]))))
  AND NOT t.tgisinternal AND t.tgparentid = 0
ORDER BY 1, c.relispartition, 6, 2";

/// Rules on the tables, and on the views of the schemas `$2` (all when empty; not a
/// view's `_RETURN`), as `pg_get_ruledef` prints them (read with `search_path` empty:
/// every name schema-qualified), with their `ev_enabled`, the user functions they call,
/// and a view's schema and name.
const RULES: &str = "
SELECT r.ev_class, r.rulename::text, pg_get_ruledef(r.oid), r.ev_enabled::text,
  (SELECT vn.nspname::text FROM pg_class v JOIN pg_namespace vn ON vn.oid = v.relnamespace
   WHERE v.oid = r.ev_class AND v.relkind = 'v'),
  (SELECT v.relname::text FROM pg_class v WHERE v.oid = r.ev_class),
  ARRAY(SELECT DISTINCT pn.nspname::text || '.' || p.proname::text FROM pg_depend d
        JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_namespace pn ON pn.oid = p.pronamespace
        WHERE d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_proc'::regclass
          AND p.oid >= 16384
          AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid
                          AND e.deptype = 'e'))
FROM pg_rewrite r
WHERE (r.ev_class = ANY($1::oid[])
       OR r.ev_class IN (SELECT v.oid FROM pg_class v JOIN pg_namespace vn ON vn.oid = v.relnamespace
                         WHERE v.relkind = 'v' AND v.oid >= 16384
                           AND (cardinality($2::text[]) = 0 OR vn.nspname = ANY($2::text[]))))
  AND r.rulename <> '_RETURN'
ORDER BY 1, 2";

/// Extended statistics objects on the tables (`pg_get_statisticsobjdef`, read with
/// `search_path` empty), with their own statistics target (`stxstattarget`: -1 on 15
/// and 16 when unset, NULL from 17; read through `to_jsonb`).
const STATISTICS: &str = "
SELECT s.stxrelid, s.stxname::text, pg_get_statisticsobjdef(s.oid),
  CASE WHEN coalesce((to_jsonb(s)->>'stxstattarget')::int, -1) >= 0
       THEN 'ALTER STATISTICS ' || quote_ident(n.nspname) || '.' || quote_ident(s.stxname)
            || ' SET STATISTICS ' || (to_jsonb(s)->>'stxstattarget') END
FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
WHERE s.stxrelid = ANY($1::oid[])
ORDER BY 1, 2";

/// Columns whose storage is not their type's, or that have a statistics target of
/// their own (`attstattarget`: -1 on 15 and 16 when unset, NULL from 17).
const COLUMN_SETTINGS: &str = "
SELECT a.attrelid, a.attname::text,
  CASE WHEN a.attstorage <> t.typstorage
       THEN CASE a.attstorage WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END END,
  CASE WHEN coalesce(a.attstattarget::int, -1) >= 0 THEN a.attstattarget::int END
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
  AND (a.attstorage <> t.typstorage OR coalesce(a.attstattarget::int, -1) >= 0)
ORDER BY 1, a.attnum";

/// Privileges on the tables and their columns granted to roles other than the owner,
/// one line per grantee and column: `SELECT, UPDATE TO reader`, `SELECT (v) TO PUBLIC`.
const GRANTS: &str = "
SELECT g.relid, string_agg(g.privilege_type, ', ' ORDER BY g.privilege_type)
  || coalesce(' (' || quote_ident(g.attname) || ')', '') || ' TO '
  || CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(g.grantee)) END
FROM (
  SELECT c.oid AS relid, NULL::name AS attname, x.grantee, x.privilege_type
  FROM pg_class c, aclexplode(c.relacl) x WHERE c.oid = ANY($1::oid[]) AND x.grantee <> c.relowner
  UNION ALL
  SELECT c.oid, a.attname, x.grantee, x.privilege_type
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid, aclexplode(a.attacl) x
  WHERE c.oid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped AND x.grantee <> c.relowner
) g
GROUP BY g.relid, g.attname, g.grantee
ORDER BY 1, 2";

/// Typed tables (`CREATE TABLE .. OF type`) and their type.
const TYPED_TABLES: &str = "
SELECT c.oid, n.nspname::text || '.' || t.typname::text
FROM pg_class c JOIN pg_type t ON t.oid = c.reloftype JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE c.oid = ANY($1::oid[]) AND c.reloftype <> 0";

/// The user functions each table needs: its triggers' and those its defaults,
/// generated columns, constraints and indexes call (not built in, not an extension's).
const FUNCTIONS: &str = "
WITH used(relid, fn) AS (
  SELECT t.tgrelid, t.tgfoid FROM pg_trigger t WHERE t.tgrelid = ANY($1::oid[]) AND NOT t.tgisinternal
  UNION
  SELECT ad.adrelid, d.refobjid FROM pg_attrdef ad
  JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_proc'::regclass
  WHERE ad.adrelid = ANY($1::oid[])
  UNION
  SELECT c.conrelid, d.refobjid FROM pg_constraint c
  JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_proc'::regclass
  WHERE c.conrelid = ANY($1::oid[])
  UNION
  SELECT i.indrelid, d.refobjid FROM pg_index i
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.refclassid = 'pg_proc'::regclass
  WHERE i.indrelid = ANY($1::oid[])
  UNION
  SELECT pg_partition_root(t.tgrelid)::oid, t.tgfoid FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
  WHERE c.relispartition AND pg_partition_root(c.oid)::oid = ANY($1::oid[]) AND NOT t.tgisinternal
  UNION
  SELECT pg_partition_root(c.conrelid)::oid, d.refobjid FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
  JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid AND d.refclassid = 'pg_proc'::regclass
  WHERE r.relispartition AND pg_partition_root(r.oid)::oid = ANY($1::oid[])
)
SELECT u.relid, n.nspname::text || '.' || p.proname::text
FROM used u JOIN pg_proc p ON p.oid = u.fn JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')
ORDER BY p.oid, 1";

/// What each table needs from an extension or a collation of the user's schemas: the
/// dependencies of the table (its columns' types and collations), its indexes,
/// constraints, defaults and triggers, followed through the types (domains, arrays),
/// functions, operator classes and operators they use. Rows: table, `e` with the
/// extension and its schema, or `c` with the collation as `schema.name` and the
/// statement creating it (`pg_collation`'s locale column is `colliculocale` on 15 and
/// 16, `colllocale` from 17, `collcollate` before 15: read through `to_jsonb`).
const NEEDS: &str = "
WITH RECURSIVE walk(relid, classid, objid) AS (
  (SELECT r, 'pg_class'::regclass::oid, r FROM unnest($1::oid[]) r
   UNION SELECT i.indrelid, 'pg_class'::regclass::oid, i.indexrelid FROM pg_index i WHERE i.indrelid = ANY($1::oid[])
   UNION SELECT c.conrelid, 'pg_constraint'::regclass::oid, c.oid FROM pg_constraint c WHERE c.conrelid = ANY($1::oid[])
   UNION SELECT ad.adrelid, 'pg_attrdef'::regclass::oid, ad.oid FROM pg_attrdef ad WHERE ad.adrelid = ANY($1::oid[])
   UNION SELECT t.tgrelid, 'pg_trigger'::regclass::oid, t.oid FROM pg_trigger t WHERE t.tgrelid = ANY($1::oid[]))
  UNION
  SELECT w.relid, d.refclassid, d.refobjid FROM walk w
  JOIN pg_depend d ON d.classid = w.classid AND d.objid = w.objid
  WHERE d.refclassid IN ('pg_type'::regclass, 'pg_proc'::regclass, 'pg_opclass'::regclass,
                         'pg_operator'::regclass, 'pg_collation'::regclass)
)
SELECT w.relid, 'e', e.extname::text, n.nspname::text
FROM walk w JOIN pg_depend m ON m.classid = w.classid AND m.objid = w.objid AND m.deptype = 'e'
  AND m.refclassid = 'pg_extension'::regclass
JOIN pg_extension e ON e.oid = m.refobjid JOIN pg_namespace n ON n.oid = e.extnamespace
UNION
SELECT w.relid, 'c', n.nspname::text || '.' || co.collname::text,
  'CREATE COLLATION IF NOT EXISTS ' || quote_ident(n.nspname) || '.' || quote_ident(co.collname) || ' (' ||
  CASE co.collprovider
    WHEN 'i' THEN 'provider = icu, locale = ' || quote_literal(coalesce(to_jsonb(co)->>'colllocale',
                  to_jsonb(co)->>'colliculocale', co.collcollate))
    WHEN 'b' THEN 'provider = builtin, locale = ' || quote_literal(to_jsonb(co)->>'colllocale')
    ELSE 'provider = libc, lc_collate = ' || quote_literal(co.collcollate) || ', lc_ctype = ' || quote_literal(co.collctype)
  END ||
  CASE WHEN co.collisdeterministic THEN '' ELSE ', deterministic = false' END ||
  coalesce(', rules = ' || quote_literal(to_jsonb(co)->>'collicurules'), '') || ')'
FROM walk w JOIN pg_collation co ON w.classid = 'pg_collation'::regclass AND co.oid = w.objid
JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE n.nspname <> 'pg_catalog'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_collation'::regclass AND d.objid = co.oid
                  AND d.deptype = 'e')
ORDER BY 1, 2, 3";

/// The user functions (of the user's schemas, not an extension's) the tables (`$1`:
/// defaults, constraints, indexes, triggers, rules, policies) and the views of the schemas
/// `$2` (all when empty: their rules and triggers too) call directly, the tables'
/// partitions' own triggers and
/// constraints too. (Objects a user
/// creates have OIDs from 16384 up, which keeps the planner's estimates small.)
const FUNCTION_SEEDS: &str = "
SELECT DISTINCT s.fn FROM (
  SELECT t.tgfoid FROM pg_trigger t WHERE t.tgrelid = ANY($1::oid[]) AND NOT t.tgisinternal
  UNION ALL
  SELECT d.refobjid FROM pg_attrdef ad JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
  WHERE ad.adrelid = ANY($1::oid[]) AND d.refclassid = 'pg_proc'::regclass
  UNION ALL
  SELECT d.refobjid FROM pg_constraint c JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid
  WHERE c.conrelid = ANY($1::oid[]) AND d.refclassid = 'pg_proc'::regclass
  UNION ALL
  SELECT d.refobjid FROM pg_index i JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
  WHERE i.indrelid = ANY($1::oid[]) AND d.refclassid = 'pg_proc'::regclass
  UNION ALL
  SELECT t.tgfoid FROM pg_trigger t JOIN pg_class pt ON pt.oid = t.tgrelid
  WHERE pt.relispartition AND pg_partition_root(pt.oid)::oid = ANY($1::oid[]) AND NOT t.tgisinternal
  UNION ALL
  SELECT d.refobjid FROM pg_constraint c JOIN pg_class pt ON pt.oid = c.conrelid
  JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid
  WHERE pt.relispartition AND pg_partition_root(pt.oid)::oid = ANY($1::oid[]) AND d.refclassid = 'pg_proc'::regclass
  UNION ALL
  SELECT d.refobjid FROM pg_class v JOIN pg_namespace vn ON vn.oid = v.relnamespace
  JOIN pg_rewrite r ON r.ev_class = v.oid
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_proc'::regclass
  WHERE v.oid >= 16384 AND v.relkind IN ('v', 'm') AND (cardinality($2::text[]) = 0 OR vn.nspname = ANY($2::text[]))
  UNION ALL
  SELECT t.tgfoid FROM pg_trigger t JOIN pg_class v ON v.oid = t.tgrelid JOIN pg_namespace vn ON vn.oid = v.relnamespace
  WHERE v.oid >= 16384 AND v.relkind = 'v' AND NOT t.tgisinternal
    AND (cardinality($2::text[]) = 0 OR vn.nspname = ANY($2::text[]))
  UNION ALL
  SELECT d.refobjid FROM pg_rewrite r
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_proc'::regclass
  WHERE r.ev_class = ANY($1::oid[])
  UNION ALL
  SELECT d.refobjid FROM pg_policy pol JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid
  WHERE pol.polrelid = ANY($1::oid[]) AND d.refclassid = 'pg_proc'::regclass
) s(fn) WHERE s.fn >= 16384";

/// Every user function: plain functions, procedures and aggregates, with
/// its name, body and the functions it depends on (an aggregate's state function, a
/// `BEGIN ATOMIC` body's calls).
const USER_FUNCTIONS: &str = "
SELECT p.oid, n.nspname::text || '.' || p.proname::text, p.proname::text, p.prosrc,
  ARRAY(SELECT d.refobjid FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
        AND d.refclassid = 'pg_proc'::regclass)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE p.oid >= 16384 AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND p.prokind IN ('f', 'p', 'a')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')";

/// The statements creating functions `$1`, whether the function names a table (its
/// row type in the signature, the table in a `BEGIN ATOMIC` body) or a view, and the
/// user types its signature uses, plain functions first (an aggregate names its own), each in creation order: `pg_get_functiondef`, or for an aggregate `CREATE
/// OR REPLACE AGGREGATE` built from `pg_aggregate`.
const FUNCTION_DEFINITIONS: &str = "
SELECT p.oid,
  CASE WHEN p.prokind = 'a' THEN
    'CREATE OR REPLACE AGGREGATE ' || quote_ident(n.nspname) || '.' || quote_ident(p.proname) || '('
    || pg_get_function_identity_arguments(p.oid) || ') (SFUNC = ' || a.aggtransfn::regproc::text
    || ', STYPE = ' || format_type(a.aggtranstype, NULL)
    || CASE WHEN a.aggtransspace <> 0 THEN ', SSPACE = ' || a.aggtransspace ELSE '' END
    || CASE WHEN a.aggfinalfn <> 0 THEN ', FINALFUNC = ' || a.aggfinalfn::regproc::text ELSE '' END
    || CASE WHEN a.aggfinalextra THEN ', FINALFUNC_EXTRA' ELSE '' END
    || CASE WHEN a.aggfinalfn <> 0 THEN ', FINALFUNC_MODIFY = '
         || CASE a.aggfinalmodify WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END ELSE '' END
    || CASE WHEN a.aggmtransfn <> 0 THEN ', MSFUNC = ' || a.aggmtransfn::regproc::text
         || ', MINVFUNC = ' || a.aggminvtransfn::regproc::text || ', MSTYPE = ' || format_type(a.aggmtranstype, NULL)
         || CASE WHEN a.aggmfinalfn <> 0 THEN ', MFINALFUNC = ' || a.aggmfinalfn::regproc::text ELSE '' END
         || CASE WHEN a.aggmfinalextra THEN ', MFINALFUNC_EXTRA' ELSE '' END
         || coalesce(', MINITCOND = ' || quote_literal(a.aggminitval), '') ELSE '' END
    || CASE WHEN a.aggkind = 'h' THEN ', HYPOTHETICAL' ELSE '' END
    || CASE WHEN a.aggcombinefn <> 0 THEN ', COMBINEFUNC = ' || a.aggcombinefn::regproc::text ELSE '' END
    || CASE WHEN a.aggserialfn <> 0 THEN ', SERIALFUNC = ' || a.aggserialfn::regproc::text ELSE '' END
    || CASE WHEN a.aggdeserialfn <> 0 THEN ', DESERIALFUNC = ' || a.aggdeserialfn::regproc::text ELSE '' END
    || coalesce(', INITCOND = ' || quote_literal(a.agginitval), '')
    || CASE WHEN a.aggsortop <> 0 THEN ', SORTOP = OPERATOR(' || quote_ident(so.nspname) || '.' || o.oprname || ')'
       ELSE '' END
    || CASE p.proparallel WHEN 's' THEN ', PARALLEL = SAFE' WHEN 'r' THEN ', PARALLEL = RESTRICTED' ELSE '' END
    || ')'
  ELSE pg_get_functiondef(p.oid) END,
  EXISTS (SELECT 1 FROM pg_depend d
          LEFT JOIN pg_type t ON d.refclassid = 'pg_type'::regclass AND t.oid = d.refobjid
          JOIN pg_class c ON c.oid = CASE WHEN d.refclassid = 'pg_class'::regclass THEN d.refobjid ELSE t.typrelid END
          WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
            AND d.refclassid IN ('pg_type'::regclass, 'pg_class'::regclass) AND c.relkind IN ('r', 'p', 'f')),
  EXISTS (SELECT 1 FROM pg_depend d
          LEFT JOIN pg_type t ON d.refclassid = 'pg_type'::regclass AND t.oid = d.refobjid
          JOIN pg_class c ON c.oid = CASE WHEN d.refclassid = 'pg_class'::regclass THEN d.refobjid ELSE t.typrelid END
          WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
            AND d.refclassid IN ('pg_type'::regclass, 'pg_class'::regclass) AND c.relkind IN ('v', 'm')),
  ARRAY(SELECT DISTINCT un.nspname::text || '.' || ut.typname::text FROM pg_depend d
        JOIN pg_type t ON t.oid = d.refobjid
        JOIN pg_type ut ON ut.oid = CASE WHEN t.typcategory = 'A' THEN t.typelem ELSE t.oid END
        JOIN pg_namespace un ON un.oid = ut.typnamespace
        WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_type'::regclass
          AND (ut.typtype IN ('e', 'd') OR (ut.typtype = 'c' AND EXISTS (
                 SELECT 1 FROM pg_class k WHERE k.oid = ut.typrelid AND k.relkind = 'c'))))
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN pg_aggregate a ON a.aggfnoid = p.oid
LEFT JOIN pg_operator o ON o.oid = a.aggsortop LEFT JOIN pg_namespace so ON so.oid = o.oprnamespace
WHERE p.oid = ANY($1::oid[])
ORDER BY p.prokind = 'a', p.oid";

/// The user functions the tables and views call, with those they call and so on, in
/// creation order, each with the names of the user functions it calls.
async fn function_closure(
    client: &Client,
    oids: &[u32],
    schemas: &[String],
    shown: &str,
) -> Result<Vec<Function>, ConnectError> {
    let q = |what: &'static str| {
        move |e: tokio_postgres::Error| ConnectError::Query {
            url: shown.to_string(),
            what: what.to_string(),
            message: crate::postgres::describe(&e),
        }
    };
    let seeds: Vec<u32> = client
        .query(FUNCTION_SEEDS, &[&oids, &schemas])
        .await
        .map_err(q("reading the functions tables and views call"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if seeds.is_empty() {
        return Ok(Vec::new());
    }
    struct UserFn {
        name: String,
        recorded: Vec<u32>,
        named: Vec<u32>,
    }
    let rows = client
        .query(USER_FUNCTIONS, &[])
        .await
        .map_err(q("reading user functions"))?;
    // name -> (schema, oid) of every user function of that name.
    let mut by_short: HashMap<String, Vec<(String, u32)>> = HashMap::new();
    for r in &rows {
        let full: String = r.get(1);
        let schema = full.split_once('.').map(|(s, _)| s.to_string()).unwrap_or_default();
        by_short
            .entry(r.get::<_, String>(2))
            .or_default()
            .push((schema, r.get(0)));
    }
    let mut graph: HashMap<u32, UserFn> = HashMap::new();
    for r in &rows {
        let oid: u32 = r.get(0);
        let name: String = r.get(1);
        let own = name.split_once('.').map(|(s, _)| s).unwrap_or_default();
        let body: Option<String> = r.get(3);
        let mut recorded: Vec<u32> = r.get(4);
        recorded.retain(|c| *c != oid);
        let mut named: Vec<u32> = Vec::new();
        for called in crate::engine::called_names(body.as_deref().unwrap_or_default()) {
            let Some(all) = by_short.get(&called) else { continue };
            // A name resolves to the caller's schema, else public, else anywhere.
            let pick = |s: &str| {
                all.iter()
                    .filter(|(sc, _)| sc == s)
                    .map(|(_, o)| *o)
                    .collect::<Vec<u32>>()
            };
            let mut found = pick(own);
            if found.is_empty() {
                found = pick("public");
            }
            if found.is_empty() {
                found = all.iter().map(|(_, o)| *o).collect();
            }
            named.extend(found.into_iter().filter(|c| *c != oid));
        }
        graph.insert(oid, UserFn { name, recorded, named });
    }
    // Reached through recorded dependencies: needed. Reached only through a name in
    // a body: maybe (a name in dynamic SQL, or another function's of that name).
    let follow = |with_names: bool| -> Vec<u32> {
        let mut out: Vec<u32> = seeds.iter().copied().filter(|s| graph.contains_key(s)).collect();
        let mut i = 0;
        while i < out.len() {
            let f = &graph[&out[i]];
            let next: Vec<u32> = f
                .recorded
                .iter()
                .chain(f.named.iter().filter(|_| with_names))
                .copied()
                .filter(|c| graph.contains_key(c) && !out.contains(c))
                .collect();
            for c in next {
                if !out.contains(&c) {
                    out.push(c);
                }
            }
            i += 1;
        }
        out
    };
    let needed: HashSet<u32> = follow(false).into_iter().collect();
    let wanted = follow(true);
    let mut out = Vec::new();
    for r in client
        .query(FUNCTION_DEFINITIONS, &[&wanted])
        .await
        .map_err(q("reading function definitions"))?
    {
        let oid: u32 = r.get(0);
        let f = &graph[&oid];
        let mut calls: Vec<String> = f
            .recorded
            .iter()
            .chain(&f.named)
            .filter_map(|c| graph.get(c).map(|g| g.name.clone()))
            .collect();
        calls.sort();
        calls.dedup();
        out.push(Function {
            name: f.name.clone(),
            definition: r.get(1),
            calls,
            after_tables: r.get(2),
            after_views: r.get(3),
            types: r.get(4),
            maybe: !needed.contains(&oid),
        });
    }
    Ok(out)
}

/// Row security of the tables that have it on or have policies: whether it is enabled
/// and forced, and each policy as `CREATE POLICY` (as pg_dump declares it). A policy
/// naming a role the destination lacks is left out there (PostgreSQL's 42704), row
/// security staying on: rows are hidden from other roles rather than shown.
const ROW_SECURITY: &str = "
SELECT c.oid, c.relrowsecurity, c.relforcerowsecurity, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
  ARRAY(SELECT 'CREATE POLICY ' || quote_ident(p.polname) || ' ON ' || quote_ident(n.nspname) || '.'
          || quote_ident(c.relname)
          || CASE WHEN p.polpermissive THEN '' ELSE ' AS RESTRICTIVE' END
          || ' FOR ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                                      WHEN 'd' THEN 'DELETE' ELSE 'ALL' END
          || ' TO ' || array_to_string(ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END
                                             FROM unnest(p.polroles) r), ', ')
          || coalesce(' USING (' || pg_get_expr(p.polqual, p.polrelid) || ')', '')
          || coalesce(' WITH CHECK (' || pg_get_expr(p.polwithcheck, p.polrelid) || ')', '')
        FROM pg_policy p WHERE p.polrelid = c.oid ORDER BY p.polname),
  ARRAY(SELECT DISTINCT fn.nspname::text || '.' || f.proname::text FROM pg_policy p
        JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.refclassid = 'pg_proc'::regclass
        JOIN pg_proc f ON f.oid = d.refobjid JOIN pg_namespace fn ON fn.oid = f.pronamespace
        WHERE p.polrelid = c.oid AND f.oid >= 16384)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = ANY($1::oid[])
  AND (c.relrowsecurity OR c.relforcerowsecurity OR EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid))";

/// Table comments (`objsubid` 0) and column comments.
const COMMENTS: &str = "
SELECT d.objoid, a.attname::text, d.description
FROM pg_description d LEFT JOIN pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid
WHERE d.classoid = 'pg_class'::regclass AND d.objoid = ANY($1::oid[])
ORDER BY 1, d.objsubid";

/// Per column: a collation other than its type's, the user type (enum, domain,
/// composite or range, or an array of one; a range for its multirange) it has, an extension's type (or an array of one) as the destination
/// must name it (`public.citext`, `ext.hstore`, `public.geometry(Point,4326)`), whether an inheritance child only inherits it and, if so,
/// whether its default (none of its parents has that one) and NOT NULL (none of its
/// parents has it) are its own.
const COLUMN_DETAILS: &str = "
SELECT a.attrelid, a.attname::text,
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
       THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
  CASE WHEN ut.oid IS NOT NULL THEN un.nspname::text || '.' || ut.typname::text END,
  NOT a.attislocal,
  NOT a.attislocal AND a.attgenerated = '' AND NOT EXISTS (
    SELECT 1 FROM pg_inherits h JOIN pg_attribute pa ON pa.attrelid = h.inhparent AND pa.attname = a.attname
    LEFT JOIN pg_attrdef pd ON pd.adrelid = pa.attrelid AND pd.adnum = pa.attnum
    WHERE h.inhrelid = a.attrelid
      AND pg_get_expr(pd.adbin, pd.adrelid) IS NOT DISTINCT FROM
          (SELECT pg_get_expr(ad.adbin, ad.adrelid) FROM pg_attrdef ad
           WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum)),
  NOT a.attislocal AND a.attnotnull AND NOT EXISTS (
    SELECT 1 FROM pg_inherits h JOIN pg_attribute pa ON pa.attrelid = h.inhparent AND pa.attname = a.attname
    WHERE h.inhrelid = a.attrelid AND pa.attnotnull),
  CASE WHEN EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = et.oid
                    AND d.deptype = 'e')
       THEN CASE WHEN pg_type_is_visible(et.oid) THEN quote_ident(en.nspname) || '.' ELSE '' END
            || format_type(a.atttypid, a.atttypmod) END
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type et ON et.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem ELSE t.oid END
JOIN pg_namespace en ON en.oid = et.typnamespace
LEFT JOIN pg_collation co ON co.oid = a.attcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_type ut ON ut.oid = CASE WHEN t.typcategory = 'A' AND t.typelem <> 0 THEN t.typelem
    WHEN t.typtype = 'm' THEN (SELECT rg.rngtypid FROM pg_range rg WHERE (to_jsonb(rg)->>'rngmultitypid')::oid = t.oid)
    ELSE t.oid END
  AND (ut.typtype IN ('e', 'd')
       OR (ut.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class k WHERE k.oid = ut.typrelid AND k.relkind = 'c'))
       OR (ut.typtype = 'r' AND ut.oid >= 16384
           AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = ut.oid
                           AND d.deptype = 'e')))
LEFT JOIN pg_namespace un ON un.oid = ut.typnamespace
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, a.attnum";

/// Enums, domains, composite types (`CREATE TYPE .. AS (..)`) and range types (a
/// subtype_diff function of the user's is left out: it only helps GiST indexes pick
/// splits) of the user's schemas (not an extension's), oldest first.
const TYPES: &str = "
SELECT n.nspname::text, t.typname::text, t.typtype::text,
  ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
  CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
  t.typnotnull, t.typdefault,
  CASE WHEN t.typtype = 'd' AND t.typcollation <> 0 AND t.typcollation <> bt.typcollation
       THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END,
  ARRAY(SELECT 'CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid)
        FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname),
  CASE WHEN ut.oid IS NOT NULL THEN un.nspname::text || '.' || ut.typname::text END,
  obj_description(t.oid, 'pg_type'),
  ARRAY(SELECT quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
          || CASE WHEN a.attcollation <> 0 AND a.attcollation <> at.typcollation
                  THEN ' COLLATE ' || quote_ident(acn.nspname) || '.' || quote_ident(aco.collname) ELSE '' END
        FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
        LEFT JOIN pg_collation aco ON aco.oid = a.attcollation LEFT JOIN pg_namespace acn ON acn.oid = aco.collnamespace
        WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum),
  ARRAY(SELECT DISTINCT aun.nspname::text || '.' || aut.typname::text
        FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
        JOIN pg_type aut ON aut.oid = CASE WHEN at.typcategory = 'A' THEN at.typelem ELSE at.oid END
        JOIN pg_namespace aun ON aun.oid = aut.typnamespace
        WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
          AND (aut.typtype IN ('e', 'd') OR (aut.typtype = 'c' AND EXISTS (
                 SELECT 1 FROM pg_class k WHERE k.oid = aut.typrelid AND k.relkind = 'c')))),
  format_type(rg.rngsubtype, NULL),
  array_remove(ARRAY[
    CASE WHEN rg.rngcollation <> 0 AND rg.rngcollation <> st.typcollation
         THEN 'collation = ' || quote_ident(rcn.nspname) || '.' || quote_ident(rco.collname) END,
    CASE WHEN NOT opc.opcdefault
         THEN 'subtype_opclass = ' || quote_ident(ocn.nspname) || '.' || quote_ident(opc.opcname) END,
    CASE WHEN rg.rngcanonical <> 0 THEN 'canonical = ' || rg.rngcanonical::regproc::text END,
    CASE WHEN rg.rngsubdiff <> 0 AND sd.pronamespace = 'pg_catalog'::regnamespace
         THEN 'subtype_diff = ' || rg.rngsubdiff::regproc::text END], NULL),
  CASE WHEN sut.typtype IN ('e', 'd') AND sut.oid >= 16384 THEN sun.nspname::text || '.' || sut.typname::text END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_range rg ON rg.rngtypid = t.oid
LEFT JOIN pg_type st ON st.oid = rg.rngsubtype
LEFT JOIN pg_type sut ON sut.oid = CASE WHEN st.typcategory = 'A' THEN st.typelem ELSE st.oid END
LEFT JOIN pg_namespace sun ON sun.oid = sut.typnamespace
LEFT JOIN pg_collation rco ON rco.oid = rg.rngcollation LEFT JOIN pg_namespace rcn ON rcn.oid = rco.collnamespace
LEFT JOIN pg_opclass opc ON opc.oid = rg.rngsubopc LEFT JOIN pg_namespace ocn ON ocn.oid = opc.opcnamespace
LEFT JOIN pg_proc sd ON sd.oid = rg.rngsubdiff
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_type ut ON ut.oid = CASE WHEN bt.typcategory = 'A' THEN bt.typelem ELSE bt.oid END
  AND ut.typtype IN ('e', 'd')
LEFT JOIN pg_namespace un ON un.oid = ut.typnamespace
LEFT JOIN pg_collation co ON co.oid = t.typcollation
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
WHERE (t.typtype IN ('e', 'd', 'r')
       OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM pg_class k WHERE k.oid = t.typrelid AND k.relkind = 'c')))
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                  AND d.deptype = 'e')
ORDER BY t.oid";

/// The sequences `pg_sequence_last_value` says nothing of (NULL until a `nextval`,
/// also after `ALTER SEQUENCE ... RESTART [WITH n]` or `setval(s, n, false)`) read
/// from the sequences themselves, in one query: one whose next value is not its START
/// (restarted elsewhere) gets `last_value` one step before that next value, so its
/// copies hand it out next. Not readable (no SELECT on a sequence): left as they are.
async fn restarted_sequences(client: &Client, tables: &mut [Table]) {
    let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let unread: Vec<(usize, usize, String)> = tables
        .iter()
        .enumerate()
        .flat_map(|(t, table)| {
            table
                .extras
                .sequences
                .iter()
                .enumerate()
                .filter(|(_, s)| s.last_value.is_none())
                .map(move |(i, s)| {
                    let name = format!("{}.{}", quote(s.schema.as_deref().unwrap_or("public")), quote(&s.name));
                    (t, i, name)
                })
        })
        .collect();
    if unread.is_empty() {
        return;
    }
    // Only the readable ones: one sequence without SELECT would fail the whole UNION
    // (privileges are checked for every table of a query before any WHERE).
    let names: Vec<String> = unread.iter().map(|(_, _, name)| name.clone()).collect();
    let Ok(readable) = client
        .query(
            "SELECT (k - 1)::int FROM unnest($1::text[]) WITH ORDINALITY AS u(name, k) \
             WHERE has_sequence_privilege(name, 'SELECT')",
            &[&names],
        )
        .await
    else {
        return;
    };
    let parts: Vec<String> = readable
        .iter()
        .map(|r| r.get::<_, i32>(0))
        .filter_map(|k| Some((k, unread.get(usize::try_from(k).ok()?)?)))
        .map(|(k, (_, _, name))| format!("SELECT {k} AS k, last_value, is_called FROM {name}"))
        .collect();
    if parts.is_empty() {
        return;
    }
    let Ok(rows) = client.query(&parts.join(" UNION ALL "), &[]).await else {
        return;
    };
    for r in rows {
        let (k, last, called): (i32, i64, bool) = (r.get(0), r.get(1), r.get(2));
        let Some((t, i, _)) = usize::try_from(k).ok().and_then(|k| unread.get(k)) else {
            continue;
        };
        let seq = &mut tables[*t].extras.sequences[*i];
        if called || last == seq.start {
            continue;
        }
        // The value before `last` (its next), when the sequence can hold it.
        if let Some(before) = last
            .checked_sub(seq.increment)
            .filter(|b| (seq.min..=seq.max).contains(b))
        {
            seq.last_value = Some(before);
        }
    }
}

/// The sequences column defaults draw from (serial), and identity sequences.
const SEQUENCES: &str = "
SELECT ad.adrelid, a.attname::text, sn.nspname::text, s.relname::text, false,
  EXISTS (SELECT 1 FROM pg_depend o WHERE o.classid = 'pg_class'::regclass AND o.objid = s.oid
          AND o.refobjid = ad.adrelid AND o.refobjsubid = ad.adnum AND o.deptype = 'a'),
  format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache, q.seqcycle,
  CASE WHEN has_sequence_privilege(s.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(s.oid) END
FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid AND d.refclassid = 'pg_class'::regclass
JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace JOIN pg_sequence q ON q.seqrelid = s.oid
WHERE ad.adrelid = ANY($1::oid[])
UNION ALL
SELECT d.refobjid, a.attname::text, sn.nspname::text, s.relname::text, true, true,
  format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, q.seqmin, q.seqmax, q.seqcache, q.seqcycle,
  CASE WHEN has_sequence_privilege(s.oid, 'SELECT,USAGE') THEN pg_sequence_last_value(s.oid) END
FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace JOIN pg_sequence q ON q.seqrelid = s.oid
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'i'
  AND d.refobjid = ANY($1::oid[])
ORDER BY 1, 2";

/// Views and materialized views of the user's schemas with the relations they read.
const VIEWS: &str = "
SELECT n.nspname::text, v.relname::text, pg_get_viewdef(v.oid), v.relkind = 'm',
  obj_description(v.oid, 'pg_class'), array_to_string(v.reloptions, ', '),
  ARRAY(SELECT rn.nspname::text FROM pg_rewrite r
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class rc ON rc.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE r.ev_class = v.oid AND d.refobjid <> v.oid GROUP BY rn.nspname, rc.relname ORDER BY rn.nspname, rc.relname),
  ARRAY(SELECT rc.relname::text FROM pg_rewrite r
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class rc ON rc.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        WHERE r.ev_class = v.oid AND d.refobjid <> v.oid GROUP BY rn.nspname, rc.relname ORDER BY rn.nspname, rc.relname),
  ARRAY(SELECT DISTINCT pn.nspname::text || '.' || p.proname::text FROM pg_rewrite r
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_proc'::regclass
        JOIN pg_proc p ON p.oid = d.refobjid JOIN pg_namespace pn ON pn.oid = p.pronamespace
        WHERE r.ev_class = v.oid AND pn.nspname NOT IN ('pg_catalog', 'information_schema')
          AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid
                          AND e.deptype = 'e')
        ORDER BY 1),
  ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = v.oid ORDER BY i.indexrelid),
  ARRAY(SELECT DISTINCT e.extname::text || ' ' || en.nspname::text FROM pg_rewrite r
        JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
        JOIN pg_depend m ON m.classid = d.refclassid AND m.objid = d.refobjid AND m.deptype = 'e'
          AND m.refclassid = 'pg_extension'::regclass
        JOIN pg_extension e ON e.oid = m.refobjid JOIN pg_namespace en ON en.oid = e.extnamespace
        WHERE r.ev_class = v.oid ORDER BY 1)
FROM pg_class v JOIN pg_namespace n ON n.oid = v.relnamespace
WHERE v.relkind IN ('v', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
  AND (cardinality($1::text[]) = 0 OR n.nspname = ANY($1::text[]))
ORDER BY v.oid";

/// A key's definition with its index's storage parameters, where `CREATE TABLE` and
/// `ADD CONSTRAINT` take them: after `INCLUDE (...)`, before `USING INDEX TABLESPACE`
/// and `DEFERRABLE` (`pg_get_constraintdef` prints no `WITH`).
pub fn key_definition(printed: String, deferrable: bool, deferred: bool, options: Option<String>) -> String {
    let Some(options) = options else {
        return printed;
    };
    let suffix = match (deferrable, deferred) {
        (true, true) => " DEFERRABLE INITIALLY DEFERRED",
        (true, false) => " DEFERRABLE",
        _ => "",
    };
    let head = printed.strip_suffix(suffix).unwrap_or(&printed);
    let (head, tablespace) = match head.find(" USING INDEX TABLESPACE ") {
        Some(i) => head.split_at(i),
        None => (head, ""),
    };
    format!("{head} WITH ({options}){tablespace}{suffix}")
}

fn quote(name: &str) -> String {
    tether_schema::sql::ident(tether_schema::Engine::Postgres, name)
}

/// Fills every table's [`tether_schema::TableExtras`] and the schema's types, views and
/// trigger functions. `by_oid`: table oid -> index in `schema.tables`.
pub async fn read(
    client: &Client,
    shown: &str,
    schemas: &[String],
    oids: &[u32],
    by_oid: &HashMap<u32, usize>,
    tables: &mut [Table],
) -> Result<SchemaObjects, ConnectError> {
    let q = |what: &'static str| {
        move |e: tokio_postgres::Error| ConnectError::Query {
            url: shown.to_string(),
            what: what.to_string(),
            message: crate::postgres::describe(&e),
        }
    };
    fn table<'t>(tables: &'t mut [Table], by_oid: &HashMap<u32, usize>, oid: u32) -> Option<&'t mut TableExtras> {
        by_oid.get(&oid).copied().map(|i| &mut tables[i].extras)
    }
    for r in client
        .query(CHECKS, &[&oids])
        .await
        .map_err(q("reading CHECK constraints"))?
    {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            x.checks.push(Check {
                name: r.get(1),
                definition: r.get(2),
                exclusion: r.get(3),
            });
        }
    }
    let mut indexes = client.query(INDEXES, &[&oids]).await.map_err(q("reading indexes"))?;
    if tables.iter().any(|t| t.partitioning.is_some()) {
        // A partition's own indexes (columns: none of the table as a whole).
        indexes.extend(
            client
                .query(PARTITION_INDEXES, &[&oids])
                .await
                .map_err(q("reading partitions' indexes"))?,
        );
    }
    for r in indexes {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            let expression: bool = r.get(7);
            // An index of a partitioned table names its table `ON ONLY`; created without
            // ONLY it is created on every partition too, as the source's was.
            let definition: String = r.get(2);
            x.indexes.push(Index {
                name: r.get(1),
                definition: definition.replacen(" ON ONLY ", " ON ", 1),
                unique: r.get(3),
                method: r.get(4),
                predicate: r.get(5),
                columns: if expression { vec![] } else { r.get(6) },
                comment: r.get(8),
            });
        }
    }
    if tables.iter().any(|t| t.partitioning.is_some()) {
        for r in client
            .query(PARTITION_CONSTRAINTS, &[&oids])
            .await
            .map_err(q("reading partitions' constraints"))?
        {
            if let Some(x) = table(tables, by_oid, r.get(0)) {
                x.partition_constraints.push(PartitionConstraint {
                    partition: r.get(1),
                    name: r.get(2),
                    definition: r.get(3),
                    indexed: r.get(4),
                });
            }
        }
    }
    for r in client.query(&keys_query(), &[&oids]).await.map_err(q("reading keys"))? {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            x.keys.push(KeyConstraint {
                name: r.get(1),
                primary: r.get(2),
                definition: key_definition(r.get(3), r.get(4), r.get(5), r.get(6)),
            });
        }
    }
    for r in client
        .query(CONSTRAINT_COMMENTS, &[&oids])
        .await
        .map_err(q("reading comments on constraints"))?
    {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            x.constraint_comments.insert(r.get(1), r.get(2));
        }
    }
    for r in client
        .query(CLUSTERED, &[&oids])
        .await
        .map_err(q("reading clustered indexes"))?
    {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            x.clustered_on = Some(r.get(1));
        }
    }
    // (schema, view) -> its triggers, and its rules: attached once the views are read.
    let mut view_triggers: Vec<((String, String), Trigger)> = Vec::new();
    let mut view_rules: Vec<((String, String), NamedStatement)> = Vec::new();
    for r in client
        .query(TRIGGERS, &[&oids, &schemas])
        .await
        .map_err(q("reading triggers"))?
    {
        if let Some(schema) = r.get::<_, Option<String>>(6) {
            // (A view's trigger cannot be disabled: ALTER TABLE refuses a view.)
            view_triggers.push((
                (schema, r.get(7)),
                Trigger {
                    name: r.get(1),
                    definition: r.get(2),
                    function: r.get(3),
                },
            ));
            continue;
        }
        // (The table the trigger is on: the root or one of its partitions.)
        let table_name: Option<String> = by_oid.contains_key(&r.get::<_, u32>(0)).then(|| r.get(5));
        if let (Some(x), Some(table)) = (table(tables, by_oid, r.get(0)), table_name) {
            let mut definition: String = r.get(2);
            let name: String = r.get(1);
            // Disabled, or fired by replication sessions only or by all, on the source:
            // so on the copy (one statement after the other).
            let state = match r.get::<_, String>(4).as_str() {
                "D" => Some("DISABLE"),
                "R" => Some("ENABLE REPLICA"),
                "A" => Some("ENABLE ALWAYS"),
                _ => None,
            };
            if let Some(state) = state {
                definition.push_str(&format!(";\nALTER TABLE {table} {state} TRIGGER {}", quote(&name)));
            }
            x.triggers.push(Trigger {
                name,
                definition,
                function: r.get(3),
            });
        }
    }
    // Rules and statistics objects name tables, functions and types as the search path
    // shows them: read with it empty, every name comes schema-qualified.
    let path: String = client
        .query_one("SELECT current_setting('search_path')", &[])
        .await
        .map_err(q("reading the search path"))?
        .get(0);
    client
        .execute("SELECT set_config('search_path', '', false)", &[])
        .await
        .map_err(q("emptying the search path"))?;
    let rules = client
        .query(RULES, &[&oids, &schemas])
        .await
        .map_err(q("reading rules"));
    let statistics = client
        .query(STATISTICS, &[&oids])
        .await
        .map_err(q("reading statistics objects"));
    let restored = client
        .execute("SELECT set_config('search_path', $1, false)", &[&path])
        .await
        .map_err(q("restoring the search path"));
    // A failed read aborts a transaction, and with it the restoring: its error first.
    let (rules, statistics) = (rules?, statistics?);
    restored?;
    for r in rules {
        if let Some(schema) = r.get::<_, Option<String>>(4) {
            let definition = r.get::<_, String>(2).trim_end().trim_end_matches(';').to_string();
            view_rules.push((
                (schema, r.get(5)),
                NamedStatement {
                    name: r.get(1),
                    definition,
                    functions: r.get(6),
                },
            ));
            continue;
        }
        let table_name = by_oid.get(&r.get::<_, u32>(0)).map(|&i| {
            let t = &tables[i];
            format!("{}.{}", quote(t.schema.as_deref().unwrap_or("public")), quote(&t.name))
        });
        if let (Some(x), Some(table)) = (table(tables, by_oid, r.get(0)), table_name) {
            let name: String = r.get(1);
            let mut definition = r.get::<_, String>(2).trim_end().trim_end_matches(';').to_string();
            let state = match r.get::<_, String>(3).as_str() {
                "D" => Some("DISABLE"),
                "R" => Some("ENABLE REPLICA"),
                "A" => Some("ENABLE ALWAYS"),
                _ => None,
            };
            if let Some(state) = state {
                definition.push_str(&format!(";\nALTER TABLE {table} {state} RULE {}", quote(&name)));
            }
            x.rules.push(NamedStatement {
                name,
                definition,
                functions: r.get(6),
            });
        }
    }
    for r in statistics {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            let mut definition: String = r.get(2);
            if let Some(target) = r.get::<_, Option<String>>(3) {
                definition.push_str(&format!(";\n{target}"));
            }
            x.statistics.push(NamedStatement {
                name: r.get(1),
                definition,
                functions: Vec::new(),
            });
        }
    }
    for r in client
        .query(COLUMN_SETTINGS, &[&oids])
        .await
        .map_err(q("reading columns' storage and statistics targets"))?
    {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            let column: String = r.get(1);
            if let Some(storage) = r.get::<_, Option<String>>(2) {
                x.column_storage.insert(column.clone(), storage);
            }
            if let Some(target) = r.get::<_, Option<i32>>(3) {
                x.column_statistics.insert(column, target);
            }
        }
    }
    for r in client.query(GRANTS, &[&oids]).await.map_err(q("reading privileges"))? {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            x.grants.push(r.get(1));
        }
    }
    for r in client
        .query(TYPED_TABLES, &[&oids])
        .await
        .map_err(q("reading typed tables"))?
    {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            x.of_type = Some(r.get(1));
        }
    }
    for r in client
        .query(ROW_SECURITY, &[&oids])
        .await
        .map_err(q("reading row security policies"))?
    {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            let name: String = r.get(3);
            if r.get(1) {
                x.row_security
                    .push(format!("ALTER TABLE {name} ENABLE ROW LEVEL SECURITY"));
            }
            if r.get(2) {
                x.row_security
                    .push(format!("ALTER TABLE {name} FORCE ROW LEVEL SECURITY"));
            }
            x.policy_functions = r.get(5);
            for policy in r.get::<_, Vec<String>>(4) {
                x.row_security.push(format!(
                    "DO $tether$ BEGIN {policy}; EXCEPTION WHEN undefined_object THEN \
                     RAISE WARNING 'tether: policy left out: %', SQLERRM; END $tether$"
                ));
            }
        }
    }
    for r in client.query(COMMENTS, &[&oids]).await.map_err(q("reading comments"))? {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            match r.get::<_, Option<String>>(1) {
                Some(column) => {
                    x.column_comments.insert(column, r.get(2));
                }
                None => x.comment = Some(r.get(2)),
            }
        }
    }
    for r in client
        .query(COLUMN_DETAILS, &[&oids])
        .await
        .map_err(q("reading column collations and types"))?
    {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            let column: String = r.get(1);
            if let Some(c) = r.get::<_, Option<String>>(2) {
                x.collations.insert(column.clone(), c);
            }
            if let Some(t) = r.get::<_, Option<String>>(3) {
                x.user_types.insert(column.clone(), t);
            }
            if r.get(4) {
                x.inherited_columns.push(column.clone());
            }
            if r.get(5) {
                x.own_defaults.push(column.clone());
            }
            if r.get(6) {
                x.own_not_null.push(column.clone());
            }
            if let Some(t) = r.get::<_, Option<String>>(7) {
                x.extension_types.insert(column, t);
            }
        }
    }
    for r in client
        .query(SEQUENCES, &[&oids])
        .await
        .map_err(q("reading sequences"))?
    {
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            x.sequences.push(Sequence {
                column: r.get(1),
                schema: Some(r.get(2)),
                name: r.get(3),
                identity: r.get(4),
                owned: r.get(5),
                data_type: r.get(6),
                start: r.get(7),
                increment: r.get(8),
                min: r.get(9),
                max: r.get(10),
                cache: r.get(11),
                cycle: r.get(12),
                last_value: r.get(13),
            });
        }
    }
    restarted_sequences(client, tables).await;

    let mut objects = SchemaObjects::default();
    for r in client.query(TYPES, &[]).await.map_err(q("reading types"))? {
        let typtype: String = r.get(2);
        let kind = if typtype == "e" {
            TypeKind::Enum { labels: r.get(3) }
        } else if typtype == "r" {
            TypeKind::Range {
                subtype: r.get(13),
                options: r.get(14),
                uses: r.get::<_, Option<String>>(15).into_iter().collect(),
            }
        } else if typtype == "c" {
            TypeKind::Composite {
                attributes: r.get(11),
                uses: r.get(12),
            }
        } else {
            TypeKind::Domain {
                base: r.get(4),
                uses: r.get::<_, Option<String>>(9).into_iter().collect(),
                not_null: r.get(5),
                default: r.get(6),
                collation: r.get(7),
                checks: r.get(8),
            }
        };
        objects.types.push(UserType {
            schema: Some(r.get(0)),
            name: r.get(1),
            kind,
            comment: r.get(10),
        });
    }
    for r in client.query(VIEWS, &[&schemas]).await.map_err(q("reading views"))? {
        let schema: String = r.get(0);
        let name: String = r.get(1);
        let materialized: bool = r.get(3);
        let body: String = r.get(2);
        let options: Option<String> = r.get::<_, Option<String>>(5).filter(|o| !o.is_empty());
        let with = options.map(|o| format!(" WITH ({o})")).unwrap_or_default();
        let body = body.trim_end().trim_end_matches(';');
        let definition = if materialized {
            format!(
                "CREATE MATERIALIZED VIEW {}.{}{with} AS\n{body}\nWITH NO DATA",
                quote(&schema),
                quote(&name)
            )
        } else {
            format!("CREATE VIEW {}.{}{with} AS\n{body}", quote(&schema), quote(&name))
        };
        let read_schemas: Vec<String> = r.get(6);
        let read_names: Vec<String> = r.get(7);
        objects.views.push(View {
            schema: Some(schema),
            name,
            definition,
            materialized,
            reads: read_schemas
                .iter()
                .zip(&read_names)
                .map(|(s, n)| TableName::new(Some(s), n))
                .collect(),
            functions: r.get(8),
            indexes: r.get(9),
            extensions: r
                .get::<_, Vec<String>>(10)
                .into_iter()
                .filter_map(|e| {
                    let (name, schema) = e.split_once(' ')?;
                    if !objects.extensions.iter().any(|x| x.name == name) {
                        objects.extensions.push(Extension {
                            name: name.to_string(),
                            schema: schema.to_string(),
                        });
                    }
                    Some(name.to_string())
                })
                .collect(),
            comment: r.get(4),
            triggers: Vec::new(),
            rules: Vec::new(),
        });
    }
    for v in objects.views.iter_mut() {
        let on = |(s, n): &(String, String)| v.schema.as_deref() == Some(s.as_str()) && &v.name == n;
        for (_, tr) in view_triggers.iter().filter(|(k, _)| on(k)) {
            if let Some(f) = tr.function.as_ref().filter(|f| !v.functions.contains(f)) {
                // (Created with the view, before it.)
                v.functions.push(f.clone());
            }
            v.triggers.push(tr.clone());
        }
        v.rules
            .extend(view_rules.iter().filter(|(k, _)| on(k)).map(|(_, r)| r.clone()));
    }
    for r in client
        .query(FUNCTIONS, &[&oids])
        .await
        .map_err(q("reading the functions tables use"))?
    {
        let name: String = r.get(1);
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            if !x.functions.contains(&name) {
                x.functions.push(name.clone());
            }
        }
    }
    objects.functions = function_closure(client, oids, schemas, shown).await?;
    for r in client
        .query(NEEDS, &[&oids])
        .await
        .map_err(q("reading the extensions and collations tables use"))?
    {
        let name: String = r.get(2);
        let what: String = r.get(3);
        let extension = r.get::<_, String>(1) == "e";
        if let Some(x) = table(tables, by_oid, r.get(0)) {
            let list = if extension {
                &mut x.extensions
            } else {
                &mut x.user_collations
            };
            if !list.contains(&name) {
                list.push(name.clone());
            }
        }
        if extension {
            if !objects.extensions.iter().any(|e| e.name == name) {
                objects.extensions.push(Extension { name, schema: what });
            }
        } else if !objects.collations.iter().any(|c| c.name == name) {
            objects.collations.push(Collation { name, definition: what });
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::key_definition;
    use crate::engine::called_names;

    #[test]
    fn names_followed_by_a_parenthesis_are_calls() {
        let body = "BEGIN RETURN Norm (t) || public.slug(x) || f$2(\n1) || \"Inner\"(2) || `Back`(3) || 'a''b(c)'; \
                    -- not_me(1)\n /* nor(2) */ END; x := y; g\t\n(";
        let mut got: Vec<String> = called_names(body).into_iter().collect();
        got.sort();
        assert_eq!(got, ["Inner", "back", "f$2", "g", "norm", "slug"]);
        assert!(called_names("SELECT 1 + 2").is_empty());
    }

    #[test]
    fn storage_parameters_go_after_include_and_before_deferrable() {
        assert_eq!(
            key_definition(
                "UNIQUE (a) INCLUDE (b) DEFERRABLE".into(),
                true,
                false,
                Some("fillfactor='70'".into())
            ),
            "UNIQUE (a) INCLUDE (b) WITH (fillfactor='70') DEFERRABLE"
        );
        assert_eq!(
            key_definition(
                "PRIMARY KEY (id) USING INDEX TABLESPACE fast DEFERRABLE INITIALLY DEFERRED".into(),
                true,
                true,
                Some("fillfactor='80'".into())
            ),
            "PRIMARY KEY (id) WITH (fillfactor='80') USING INDEX TABLESPACE fast DEFERRABLE INITIALLY DEFERRED"
        );
        assert_eq!(
            key_definition("PRIMARY KEY (id)".into(), false, false, None),
            "PRIMARY KEY (id)"
        );
    }
}
