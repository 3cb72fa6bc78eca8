//! A plan is data: the statements a managed keyspace runs for one DML statement, in
//! order, with holes for the key values that earlier reads return. The gateway fills
//! the holes and runs the statements; it never decides anything a plan does not say.
//! Its `EXPLAIN FK` listing (`Display`) is in `explain.rs`.

use std::fmt;

use crate::message::FkError;

/// Which kind of change reaches a table's rows, and so which FK actions apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Event {
    Delete,
    Update,
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Event::Delete => "delete",
            Event::Update => "update",
        })
    }
}

/// A piece of SQL text with holes filled at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Text(String),
    /// The distinct old key tuples of the parent rows, as an `IN` list body:
    /// `1, 2` or `(1, 'a'), (2, 'b')`.
    Keys,
    /// `CASE` mapping the old key tuple to the new value of FK column number `n`
    /// (one `WHEN` per key, or a search by halves over many integer keys).
    NewValue(usize),
    /// For each key tuple `i`: `IF(<columns> = <tuple i>, i, NULL)`, comma-separated,
    /// so a row read says which of the tuples it matches (compared by the server,
    /// with the columns' types and collations).
    Matches,
    /// An `ORDER BY` expression putting rows in the order of the key tuples (the
    /// order the parents were read, which is the order MariaDB changes them in):
    /// `FIELD` or `CASE` over the keys; over many integer keys, the columns
    /// themselves when the keys come in ascending or descending order, else a
    /// search by halves.
    Order,
}

impl Template {
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Keys => out.push_str("<keys>"),
                Part::NewValue(n) => out.push_str(&format!("<new value {}>", n + 1)),
                Part::Matches => out.push_str("<which of the keys>"),
                Part::Order => out.push_str("<the keys' order>"),
            }
        }
        out
    }

    /// Fills the holes: `keys` are the distinct old tuples (already rendered as SQL
    /// literals), `new_values[i]` the new tuple of `keys[i]` (for `NewValue`).
    pub fn render(&self, fk_columns: &[String], keys: &[Vec<String>], new_values: &[Vec<String>]) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Keys => push_keys(&mut out, keys),
                Part::NewValue(n) => push_case(&mut out, fk_columns, *n, keys, new_values),
                Part::Matches => push_matches(&mut out, fk_columns, keys),
                Part::Order => push_order(&mut out, fk_columns, keys),
            }
        }
        out
    }
}

fn push_tuple(out: &mut String, tuple: &[String]) {
    if tuple.len() == 1 {
        out.push_str(&tuple[0]);
    } else {
        out.push('(');
        out.push_str(&tuple.join(", "));
        out.push(')');
    }
}

fn push_keys(out: &mut String, keys: &[Vec<String>]) {
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        push_tuple(out, k);
    }
}

/// From this many keys on, `NewValue` and `Order` find a row's key by halving the
/// keys, sorted, when they are integers: about log2(n) comparisons per child row
/// instead of one per key (re-keying 10,000 parents with 100,000 children took
/// seconds). The statement stays one statement with the same value per row.
const SEARCH_FROM: usize = 16;

/// The keys' positions in ascending order of their values, when every key is a
/// tuple of integer literals that a double holds exactly (so the server, comparing
/// them with a numeric column of any type, orders them as Rust does) and no two are
/// equal; `None` otherwise (text keys order by their collation, which only the
/// server knows).
fn integer_order(keys: &[Vec<String>]) -> Option<Vec<usize>> {
    const EXACT_IN_DOUBLE: i64 = 1 << 53;
    if keys.len() < SEARCH_FROM {
        return None;
    }
    let values: Vec<Vec<i64>> = keys
        .iter()
        .map(|k| {
            k.iter()
                .map(|v| v.parse::<i64>().ok().filter(|i| i.abs() <= EXACT_IN_DOUBLE))
                .collect::<Option<Vec<i64>>>()
        })
        .collect::<Option<_>>()?;
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|a, b| values[*a].cmp(&values[*b]));
    if order.windows(2).any(|w| values[w[0]] == values[w[1]]) {
        return None;
    }
    Some(order)
}

/// A binary search over `order` (key positions sorted by value) as nested `IF`s:
/// `IF(<row> < <middle key>, <lower half>, <upper half>)`, down to `leaf(i)` for key
/// `i`. A row equal to one of the keys ends at that key's leaf.
fn push_search(out: &mut String, row: &str, keys: &[Vec<String>], order: &[usize], leaf: &dyn Fn(usize) -> String) {
    if let [i] = order {
        out.push_str(&leaf(*i));
        return;
    }
    let (lower, upper) = order.split_at(order.len() / 2);
    out.push_str(&format!("IF({row} < "));
    push_tuple(out, &keys[upper[0]]);
    out.push_str(", ");
    push_search(out, row, keys, lower, leaf);
    out.push_str(", ");
    push_search(out, row, keys, upper, leaf);
    out.push(')');
}

fn push_case(out: &mut String, fk_columns: &[String], n: usize, keys: &[Vec<String>], new_values: &[Vec<String>]) {
    let column = crate::sql::ident(&fk_columns[n]);
    if let Some(order) = integer_order(keys) {
        let row = crate::sql::row_of(fk_columns);
        if fk_columns.len() == 1 {
            // The statement's rows are those equal to one of the keys.
            push_search(out, &row, keys, &order, &|i| new_values[i][n].clone());
        } else {
            // Assignments run left to right: the second column's search sees the
            // first one's new value. Each leaf checks its key as the `WHEN` does,
            // so a row matching none keeps its value as with the `ELSE`: the same
            // value as the plain `CASE` for any row.
            let leaf = |i: usize| {
                let mut when = format!("IF({row} = ");
                push_tuple(&mut when, &keys[i]);
                format!("{when}, {}, {column})", new_values[i][n])
            };
            push_search(out, &row, keys, &order, &leaf);
        }
        return;
    }
    if fk_columns.len() == 1 {
        out.push_str(&format!("CASE {column}"));
        for (k, v) in keys.iter().zip(new_values) {
            out.push_str(&format!(" WHEN {} THEN {}", k[0], v[n]));
        }
    } else {
        let row = crate::sql::row_of(fk_columns);
        out.push_str("CASE");
        for (k, v) in keys.iter().zip(new_values) {
            out.push_str(&format!(" WHEN {row} = "));
            push_tuple(out, k);
            out.push_str(&format!(" THEN {}", v[n]));
        }
    }
    out.push_str(&format!(" ELSE {column} END"));
}

fn push_order(out: &mut String, columns: &[String], keys: &[Vec<String>]) {
    if let Some(order) = integer_order(keys) {
        // Keys already in ascending (descending) order, as a statement over a
        // range of the primary key reads them: the columns' own order is theirs.
        let direction = if order.iter().enumerate().all(|(n, i)| n == *i) {
            Some("")
        } else if order.iter().rev().enumerate().all(|(n, i)| n == *i) {
            Some(" DESC")
        } else {
            None
        };
        match direction {
            Some(direction) => {
                let by: Vec<String> = columns
                    .iter()
                    .map(|c| format!("{}{direction}", crate::sql::ident(c)))
                    .collect();
                out.push_str(&by.join(", "));
            }
            None => push_search(out, &crate::sql::row_of(columns), keys, &order, &|i| i.to_string()),
        }
        return;
    }
    if columns.len() == 1 {
        out.push_str(&format!("FIELD({}", crate::sql::ident(&columns[0])));
        for k in keys {
            out.push_str(", ");
            out.push_str(&k[0]);
        }
        out.push(')');
        return;
    }
    let row = crate::sql::row_of(columns);
    out.push_str("CASE");
    for (i, k) in keys.iter().enumerate() {
        out.push_str(&format!(" WHEN {row} = "));
        push_tuple(out, k);
        out.push_str(&format!(" THEN {i}"));
    }
    out.push_str(" END");
}

fn push_matches(out: &mut String, columns: &[String], keys: &[Vec<String>]) {
    let row = crate::sql::row_of(columns);
    for (i, k) in keys.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&format!("IF({row} = "));
        push_tuple(out, k);
        out.push_str(&format!(", {i}, NULL)"));
    }
}

/// One foreign key as the executor needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FkRef {
    pub name: String,
    pub child: String,
    pub columns: Vec<String>,
    pub parent: String,
    pub referenced_columns: Vec<String>,
    /// Where the referenced columns sit in the parent rows' key columns.
    pub parent_positions: Vec<usize>,
}

/// What a child FK does when its parent rows are deleted or their keys change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    /// RESTRICT / NO ACTION (or a cascade InnoDB refuses): fail when the probe
    /// returns a row.
    Refuse {
        probe: Template,
        error: FkError,
        why: &'static str,
        /// For a self-reference on delete: the probe returns the child rows'
        /// primary key (this many leading columns) before their FK values, so a
        /// child the same statement deletes before its parent does not count, as
        /// in MariaDB's row-by-row delete. 0: the probe returns FK values only.
        child_ids: usize,
    },
    /// ON DELETE CASCADE: delete the child rows.
    Delete { statement: Template },
    /// SET NULL / SET DEFAULT / ON UPDATE CASCADE: change the child rows' FK columns.
    /// `new` says what each FK column becomes.
    Update { statement: Template, new: NewChildValue },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewChildValue {
    Null,
    /// The columns' defaults, as SQL literals.
    Default(Vec<String>),
    /// The parent's new key.
    Cascade,
}

/// One action of one child FK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub fk: FkRef,
    pub kind: ActionKind,
    /// Reads the affected child rows (their key columns, in the child's rule order)
    /// when the change goes on to the child's own children; `None` when it stops here.
    pub read: Option<Template>,
    /// Error raised when this action would cascade deeper than InnoDB allows.
    pub too_deep: FkError,
    /// Error raised when this action updates child rows of a table an earlier step of
    /// the same cascade chain updates (InnoDB refuses that with 1451).
    pub same_table_update: FkError,
    /// Per FK column: the most characters the child's column holds, where it is
    /// text. InnoDB refuses (1451) an ON UPDATE CASCADE whose new key does not fit
    /// the child's column, trailing spaces included, where an UPDATE would cut it.
    pub fits: Vec<Option<u32>>,
    /// Per FK column: the cascaded key as InnoDB writes it (see [`Stored`]).
    pub stored: Vec<Stored>,
}

/// How InnoDB cascades a key into one child column where an UPDATE would write
/// another value: it copies the parent's value as the parent column STORES it,
/// and checks it against the child column as stored, without any conversion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// The parent column is a CHAR: stored padded with spaces (read back without
    /// them), so the cascaded value is the padded one (a VARCHAR / TEXT child keeps
    /// the spaces, a shorter child refuses it with 1451).
    pub pad: Option<Pad>,
    /// The child column is a BINARY / VARBINARY of this many bytes: InnoDB refuses
    /// (1451) a longer value, where an UPDATE would cut it.
    pub max_bytes: Option<u32>,
    /// The child column is a BINARY(n): InnoDB refuses (1451) a value shorter than
    /// n bytes (it has no pad byte to add), where an UPDATE would pad it with 0x00.
    pub fixed_bytes: bool,
}

/// The length a CHAR(n) key is stored padded to, with spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pad {
    /// `n` characters: a character set of one byte per character (latin1, ascii,
    /// ...), or of a fixed width (ucs2, utf32).
    Chars(u32),
    /// `n` bytes of UTF-8: utf8mb3 / utf8mb4, which InnoDB stores with a variable
    /// width, at least n bytes (`'é'` in a CHAR(5) is `'é   '`, four characters).
    Utf8Bytes(u32),
}

/// Everything that happens when rows of `table` see `event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub table: String,
    pub event: Event,
    /// The columns every row of this table carries through the plan: the primary key,
    /// then every column some FK references.
    pub key_columns: Vec<String>,
    /// The engine type of each of `key_columns` (`None`: unknown): a statement's
    /// new keys cascade as the parent's columns store them (cut, padded, rounded).
    pub key_types: Vec<Option<String>>,
    /// How many of `key_columns` are the primary key (the identity of a row).
    pub pk_len: usize,
    pub actions: Vec<Action>,
}

/// Parent-existence checks (error 1452) for the rows the statement itself writes:
/// the gateway verifies them, so the original can run with the backend's checks off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentChecks {
    /// The values every written row carries for the checks: the columns of each
    /// checked FK, then the columns its self-references point at.
    pub columns: Vec<String>,
    /// The engine type of each of `columns` (`SHOW COLUMNS` spelling; `None`:
    /// unknown): the gateway checks each value as the column stores it (cut,
    /// rounded, converted), which is the value InnoDB checks.
    pub types: Vec<Option<String>>,
    /// Whether each of `columns` is NOT NULL (unknown: true): only a NULL into such
    /// a column is stored as something else (the implicit default, or 1048).
    pub not_null: Vec<bool>,
    pub rows: NewRows,
    /// One per FK of the table the statement may write, in the schema's order.
    pub checks: Vec<ParentCheck>,
}

/// Where the written rows' values come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewRows {
    /// INSERT / REPLACE: the `VALUES` rows in `columns` order, as SQL literals;
    /// `None` where the value is only known after the insert (auto-increment).
    Values(Vec<Vec<Option<String>>>),
    /// UPDATE: the start read's last columns: `columns` old, then `columns` new.
    Read,
    /// INSERT ... ON DUPLICATE KEY UPDATE: the start read's row (the clashing row
    /// and its new values) when it returns one, else this `VALUES` row, inserted.
    ReadOrValues(Vec<Option<String>>),
}

/// The parent-existence check of one FK of the written table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentCheck {
    /// The FK; `parent_positions` are where its referenced columns sit in the
    /// parent's rule key columns (rows the plan deletes or re-keys carry those).
    pub fk: FkRef,
    /// Where the FK's columns sit in [`ParentChecks::columns`].
    pub positions: Vec<usize>,
    /// For a self-reference: where the referenced columns sit in
    /// [`ParentChecks::columns`]; a row the statement inserts is a parent of its
    /// later rows, and of itself as [`ParentCheck::own_parent`] says.
    pub own_positions: Option<Vec<usize>>,
    /// For a self-reference: whether an inserted row is its own parent.
    pub own_parent: OwnParent,
    /// Where the columns sit in [`ParentChecks::columns`] whose change makes InnoDB
    /// write the FK's index entry again, and so check the FK again, even when the
    /// FK's own values stay: the primary key and the other columns of the index
    /// that backs the FK (see `planner::rewrites`). Empty where only inserts count.
    pub rewrites: Vec<usize>,
    /// Columns of indexes that may back the FK, where the schema cannot tell which
    /// one InnoDB chose: a change there with no parent is left to InnoDB.
    pub may_rewrite: Vec<usize>,
    /// Per referenced column: whether it is numeric. Where the gateway matches a
    /// key against rows the statement itself writes, numbers compare by value and
    /// other values as text (without quotes, case and trailing spaces).
    pub numeric: Vec<bool>,
    /// Whether the probe returns the parents' keys (integer keys, compared by value
    /// in the gateway) rather than, per parent row, which of the `<keys>` it
    /// matches (compared by the server, with the columns' types and collations).
    pub keys_only: bool,
    /// Locks the parents (`LOCK IN SHARE MODE`, as InnoDB's check does) and says
    /// which of the `<keys>` exist.
    pub probe: Template,
    pub error: FkError,
}

/// Whether a row is its own parent through a self-referencing FK. InnoDB writes
/// a row index by index, the clustered index first, then the secondary indexes in
/// the table's order, and checks the FKs an index backs just before writing that
/// index's entry (`row_ins_index_entry`): the row's own key is there to be found
/// only when the index the FK references comes before the FK's own index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnParent {
    /// The referenced columns lead the clustered index, the FK's do not: the row's
    /// key is written before its FK is checked.
    Yes,
    /// The FK's columns lead the clustered index: it is checked before anything
    /// of the row is written.
    No,
    /// Both in secondary indexes (or no primary key): their order in InnoDB, which
    /// the schema does not keep, decides. InnoDB checks such a row.
    Unknown,
}

/// How the plan finds the rows the statement itself changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// No parent-side work: only the original statement runs.
    Nothing,
    /// `SELECT key columns ... FOR UPDATE` of the rows the statement removes.
    Delete { read: String },
    /// `SELECT key columns, then their new values ... FOR UPDATE`.
    Update { read: String },
    /// A multi-table UPDATE / DELETE: one lock read per table it writes (an UPDATE:
    /// per table whose referenced keys change), over the statement's own join and
    /// `WHERE`.
    Multi { targets: Vec<Target> },
    /// `REPLACE ... SELECT`: the SELECT's rows are read first; the existing rows
    /// they clash with are the rows the statement deletes.
    ReplaceSelect(ReplaceSource),
}

/// One table a multi-table statement writes, and how to read its affected rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub table: String,
    pub event: Event,
    /// `SELECT DISTINCT` key columns (then, for an update, their new values) of
    /// the table's rows the statement changes, `FOR UPDATE`.
    pub read: String,
    /// For a multi-table DELETE: the table's primary key, the read's first
    /// columns. MariaDB deletes from one table while scanning the join and from
    /// the others afterwards, so a cascade of an early row can change which rows
    /// of the others still match: the rows the native run deleted are the ones
    /// the plan deletes, by key, in place of the original.
    pub by_key: Option<Vec<String>>,
    /// Whether the rows are parents whose rules apply.
    pub parent: bool,
}

/// Where a key column of a `REPLACE ... SELECT` row comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    /// Column number `n` of the SELECT.
    Column(usize),
    /// The column's default (an SQL literal): the statement does not name it.
    Default(String),
}

/// How a `REPLACE ... SELECT` finds the rows it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplaceSource {
    /// The SELECT as the client wrote it.
    pub query: String,
    /// The primary key and unique keys: their columns, and where each value of a
    /// new row comes from.
    pub keys: Vec<(Vec<String>, Vec<KeyValue>)>,
    /// `SELECT <key columns> FROM <table> WHERE `: the executor appends the
    /// clashing condition and `FOR UPDATE`.
    pub read: String,
}

/// The ordered plan for one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The table the statement writes.
    pub table: String,
    pub start: Start,
    /// Rules by (table, event), reachable from the start.
    pub rules: Vec<Rules>,
    /// The statement as the client sent it.
    pub original: String,
    /// Whether the original runs with the backend's FK checks on: only for writes
    /// whose new rows the planner cannot compute (INSERT ... SELECT, IGNORE,
    /// multi-row REPLACE / ON DUPLICATE KEY UPDATE, values that are expressions).
    /// InnoDB then verifies parent existence row by row, which writes nothing.
    pub original_fk_checks: bool,
    /// Parent-existence checks the gateway does itself for the rows the statement
    /// writes (then the original runs with checks off, after the child statements).
    pub parent_checks: Option<ParentChecks>,
    /// For an UPDATE: the same assignments applied to the first rows of the
    /// statement only, in the order the lock read returned them (`<keys>` are their
    /// primary keys). When the plan finds an FK error at row N, the gateway runs this
    /// over rows before N (then rolls it back) so an error MariaDB would hit earlier
    /// in its row-by-row scan (a duplicate key, say) wins, as it does natively.
    pub prefix: Option<Template>,
    /// Whether the outcome (error or rows affected) is taken from the original run
    /// natively first, with InnoDB's checks, under a savepoint rolled back at once:
    /// for statements whose row-by-row order the plan cannot reproduce (multi-table
    /// UPDATE / DELETE, `REPLACE ... SELECT`, multi-row ON DUPLICATE KEY UPDATE).
    /// When it succeeds, the plan runs without checks of its own (InnoDB found
    /// none to fail) and the client gets the native run's result.
    pub native_first: bool,
    /// Plans run one after the other in place of the original (the rows of a
    /// multi-row ON DUPLICATE KEY UPDATE, one statement each, as MariaDB takes
    /// them row by row).
    pub steps: Vec<Plan>,
    /// For ON DUPLICATE KEY UPDATE and REPLACE: the unique indexes the new rows
    /// are matched against (see [`Clash`]).
    pub clash: Option<Clash>,
    /// Whether the original may take AUTO_INCREMENT values (InnoDB never gives
    /// them back, not even on rollback): it then runs exactly once, last, and its
    /// own error is the statement's.
    pub allocates: bool,
    /// For a single-table DELETE / UPDATE with LIMIT: how the plan finds the rows
    /// the statement itself changes, which a lock read with the same LIMIT may pick
    /// differently (another index, ties of a non-unique ORDER BY). The plan then
    /// runs on those rows only, by primary key (see [`Pick`]).
    pub pick: Option<Pick>,
    /// Why the original runs as InnoDB runs it (forwarded with InnoDB's checks and
    /// cascades, none of the plan's statements), when it does: an FK the plan reaches
    /// whose keys InnoDB compares as it stores them in a way no SQL comparison of the
    /// gateway's can follow (a NO PAD collation over a CHAR paired with another
    /// type or length, see `planner/stored.rs`). Its cascades then miss the binlog
    /// as statements of their own.
    pub by_innodb: Option<String>,
    /// Whether the lock read computes a new value from the statement's time (an ON
    /// UPDATE CURRENT_TIMESTAMP key the UPDATE re-keys, or an FK column it checks):
    /// the executor pins the session's `timestamp` for the whole plan, so the lock
    /// read and the statement see one time.
    pub pins_time: bool,
    /// For a single-table DELETE of a table in an FK cycle: the order MariaDB
    /// takes its rows in is the optimizer's choice (a WHERE on a column of a
    /// secondary index: a range of that index or a full scan, by cost; an ORDER
    /// BY with ties), and that order decides which own row a cascade of an
    /// earlier one deletes first (not counted), which RESTRICT child is still
    /// there. Behind InnoDB the outcome is then taken from a native run first, as
    /// for [`Plan::native_first`]; behind a sharding engine, which has no such run,
    /// the lock read's order stands.
    pub native_order: bool,
}

/// The rows of a DELETE / UPDATE with LIMIT, found before the plan runs, and the
/// plan's statements restricted to them by primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pick {
    /// The table's primary key columns.
    pub columns: Vec<String>,
    /// `DELETE ... [ORDER BY ...] LIMIT ... RETURNING <primary key>` with the
    /// statement's own WHERE, ORDER BY and LIMIT, run under a savepoint rolled
    /// back at once: the rows MariaDB's scan takes, in its order. `None` where no
    /// such DELETE can be written (a table alias: MariaDB's single-table DELETE
    /// has none): the lock read's own rows are then the statement's.
    pub trial: Option<String>,
    /// Whether the trial runs with InnoDB's checks on (a DELETE: the trial is the
    /// statement itself, so its error is MariaDB's) or off (an UPDATE: only its
    /// choice of rows is wanted, not its ON DELETE rules).
    pub trial_checks: bool,
    /// Whether only the trial finds the statement's rows (a DELETE whose WHERE
    /// reads a table its cascade changes, evaluated by MariaDB row by row, between
    /// cascades): where no trial can run (behind a sharding engine) the statement
    /// is refused.
    pub trial_required: bool,
    /// The lock read restricted to the rows found (`<keys>`: their primary keys),
    /// in their order.
    pub read: Template,
    /// The original restricted to those rows, in their order; it runs in place of
    /// the client's text.
    pub original: Template,
}

/// How the start read of an ON DUPLICATE KEY UPDATE or REPLACE finds the rows a
/// new row clashes with. The read compares with the server's own rules (column
/// collations, trailing spaces), which are the index's own only for whole-column
/// B-tree keys: the executor checks that on the backend first, and lets InnoDB
/// run the statement itself (its checks and cascades) when it is not so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clash {
    /// Every unique index of the table the planner knows (`PRIMARY` for the
    /// primary key): the backend must have exactly these.
    pub indexes: Vec<String>,
    /// ON DUPLICATE KEY UPDATE: the read returns every row the new row clashes
    /// with, each ending with one flag (1 or 0) per index named here, in this
    /// order: whether it is the row that clashes on that index. InnoDB checks
    /// the clustered index first, then the others in the order they were
    /// created, and updates the row of the first index that clashes: the
    /// executor keeps that row alone. Empty for REPLACE (every row read goes).
    pub flags: Vec<String>,
}

impl Plan {
    /// A plan of `start` on `table` for `original` with nothing else to do yet.
    pub fn new(table: &str, start: Start, original: &str) -> Plan {
        Plan {
            table: table.to_string(),
            start,
            rules: Vec::new(),
            original: original.to_string(),
            original_fk_checks: false,
            parent_checks: None,
            prefix: None,
            native_first: false,
            steps: Vec::new(),
            clash: None,
            allocates: false,
            pick: None,
            by_innodb: None,
            pins_time: false,
            native_order: false,
        }
    }

    pub fn rules_for(&self, table: &str, event: Event) -> Option<&Rules> {
        self.rules.iter().find(|r| r.table == table && r.event == event)
    }

    /// True when the statement needs no work beyond running it.
    pub fn is_passthrough(&self) -> bool {
        matches!(self.start, Start::Nothing) && self.parent_checks.is_none() && self.steps.is_empty()
    }

    /// True when the original writes FK columns of its own table: it then runs
    /// after the child statements (as InnoDB would check it: after the cascades of
    /// its rows), with checks on or off as `original_fk_checks` says. Also when it
    /// may take auto-increment values: last, its own failure needs no replay.
    pub fn original_last(&self) -> bool {
        self.original_fk_checks || self.parent_checks.is_some() || self.allocates
    }
}
