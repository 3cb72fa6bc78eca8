//! MariaDB/MySQL connections and introspection from `information_schema`.
//!
//! A MySQL "database" is Tether's whole schema: `schema` is null on every table and
//! foreign keys into other databases keep their `referenced_schema`.

pub mod dialect;
mod lex;
pub mod nontx;
pub mod rw;

use std::collections::{BTreeMap, HashMap, HashSet};

use mysql_async::prelude::Queryable;
use mysql_async::{ClientIdentity, Conn, DriverError, OptsBuilder, SslOpts};
use tether_schema::{
    Check, Column, DataType, FkAction, ForeignKey, Function, Identity, Schema, SchemaObjects, Sequence, Table,
    TableName, Trigger, UniqueKey, View,
};

use tether_schema::objects::KeyParts;

use crate::error::ConnectError;
use crate::tls::{self, TlsMode, TlsOptions};
use crate::types;
use crate::url::{Engine, ServerUrl};

/// One line describing a mysql_async error, with the server's code and SQL state.
pub fn describe(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("server error {} ({}): {}", s.code, s.state, s.message),
        // Not "Input/output error: Input/output error: ...", as the driver nests them.
        mysql_async::Error::Io(mysql_async::IoError::Io(e)) => format!("input/output error: {e}"),
        other => other.to_string(),
    }
}

/// Connection options without TLS.
pub fn opts(server: &ServerUrl) -> OptsBuilder {
    let mut b = OptsBuilder::default()
        .ip_or_hostname(server.host.clone())
        .tcp_port(server.port)
        .user(Some(server.user.clone()))
        .pass(server.password.clone())
        .db_name(server.database.clone())
        .prefer_socket(false);
    if let Some(s) = &server.socket {
        b = b.socket(Some(s.clone()));
    }
    b
}

/// mysql_async's TLS options for the URL's mode (`None`: plain).
fn ssl_opts(tls: &TlsOptions) -> Option<SslOpts> {
    let mut ssl = SslOpts::default().with_client_identity(
        tls.cert
            .clone()
            .zip(tls.key.clone())
            .map(|(cert, key)| ClientIdentity::new(cert.into(), key.into())),
    );
    let root = tls.root_cert.clone().filter(|p| p.as_os_str() != "system");
    match tls.mode {
        TlsMode::Disable => return None,
        // As the mysql client: no certificate check (mysql_async still wants a
        // root store, its built-in one).
        TlsMode::Prefer | TlsMode::Require => ssl = ssl.with_danger_accept_invalid_certs(true),
        TlsMode::VerifyCa | TlsMode::VerifyFull => {
            if let Some(root) = root {
                ssl = ssl.with_root_certs(vec![root.into()]).with_disable_built_in_roots(true);
            }
            ssl = ssl.with_danger_skip_domain_validation(tls.mode == TlsMode::VerifyCa);
        }
    }
    Some(ssl)
}

/// Servers (host, port) that answered a PREFERRED connection without TLS: later ones
/// of this process go plain at once instead of connecting twice (PREFERRED allows
/// plain; a server that gains TLS is used plain until the process ends).
static PLAIN_ONLY: std::sync::Mutex<std::collections::BTreeSet<(String, u16)>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// Connects (with TLS as the URL's `ssl-mode` says), within the URL's
/// `connect_timeout` (10 s when it has none).
pub async fn connect(server: &ServerUrl, shown: &str) -> Result<Conn, ConnectError> {
    let fail = |message: String| ConnectError::Connect {
        url: shown.to_string(),
        message,
    };
    // A TLS option that cannot work (a file missing, a key that is not the
    // certificate's) is the URL's mistake, not the server's.
    let settings = |reason: String| ConnectError::InvalidUrl {
        url: shown.to_string(),
        reason,
    };
    let tls = &server.tls;
    let ssl = ssl_opts(tls).filter(|_| server.socket.is_none());
    if ssl.is_some() {
        // mysql_async reads the files itself; read them first for messages that
        // name the option.
        tls::client_config(tls, Engine::Mysql).map_err(settings)?;
        if let Some(cert) = &tls.cert {
            if let Some(v) = tls::file_x509_version(cert).filter(|&v| v < 3) {
                return Err(settings(format!(
                    "{} {}: the client certificate is X.509 version {v}, which the MariaDB/MySQL driver \
                     cannot present (it reads version 3 certificates only): re-issue it as version 3",
                    tls::Key::Cert.name(Engine::Mysql),
                    cert.display()
                )));
            }
        }
    }
    let limit = server.connect_limit(Engine::Mysql);
    let attempt = |ssl: Option<SslOpts>| {
        let opts = opts(server).ssl_opts(ssl);
        async move {
            match limit {
                Some(limit) => match tokio::time::timeout(limit, Conn::new(opts)).await {
                    Ok(r) => r.map_err(Some),
                    Err(_) => Err(None),
                },
                None => Conn::new(opts).await.map_err(Some),
            }
        }
    };
    let server_key = (server.host.clone(), server.port);
    let known_plain = |add: bool| {
        let mut set = PLAIN_ONLY.lock().unwrap_or_else(|e| e.into_inner());
        if add {
            set.insert(server_key.clone());
        }
        set.contains(&server_key)
    };
    let ssl = ssl.filter(|_| !(tls.mode == TlsMode::Prefer && known_plain(false)));
    let mut result = attempt(ssl.clone()).await;
    match &result {
        // PREFERRED: plain when the server offers no TLS (mysql_async has no such
        // mode: connect again).
        Err(Some(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)))
            if tls.mode == TlsMode::Prefer =>
        {
            known_plain(true);
            result = attempt(None).await;
        }
        // VERIFY_CA: mysql_async's own skipping of the host name check does not
        // recognize today's rustls error; the chain was good (webpki checks it
        // first), so connect again expecting a name the certificate holds.
        Err(Some(e)) if tls.mode == TlsMode::VerifyCa => {
            if let Some(name) = tls::find_rustls_error(e).and_then(presented_name) {
                result = attempt(ssl.map(|s| s.with_danger_tls_hostname_override(Some(name)))).await;
            }
        }
        _ => {}
    }
    result.map_err(|e| {
        fail(match e {
            Some(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)) => {
                tls::not_supported(tls, Engine::Mysql)
            }
            Some(e) => match tls::find_rustls_error(&e) {
                Some(r) => tls::explain(r, tls, Engine::Mysql, &server.host),
                None => describe(&e),
            },
            None => format!("timed out after {}", server.connect_limit_shown(Engine::Mysql)),
        })
    })
}

/// The first name a certificate refused for its name holds (webpki prints them as
/// `DnsName("db.example")` or `IpAddress(10.0.0.1)`).
fn presented_name(e: &rustls::Error) -> Option<String> {
    let rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { presented, .. }) = e
    else {
        return None;
    };
    presented.iter().find_map(|p| {
        p.strip_prefix("DnsName(\"")
            .and_then(|n| n.strip_suffix("\")"))
            .or_else(|| p.strip_prefix("IpAddress(").and_then(|n| n.strip_suffix(')')))
            .map(str::to_string)
    })
}

type ColumnRow = (String, String, String, String, Option<String>, String, Option<String>);
type FkRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// Makes a failed query's error: the URL, what Tether was reading, the server's words.
fn failed(shown: &str, what: &'static str) -> impl Fn(mysql_async::Error) -> ConnectError {
    let url = shown.to_string();
    move |e: mysql_async::Error| ConnectError::Query {
        url: url.clone(),
        what: what.to_string(),
        message: describe(&e),
    }
}

/// Reads the schema of the URL's database.
pub async fn introspect(conn: &mut Conn, shown: &str, database: &str) -> Result<Schema, ConnectError> {
    let q = |what: &'static str| failed(shown, what);
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(q("reading the server version"))?;
    let mariadb = version.unwrap_or_default().contains("MariaDB");

    let names: Vec<String> = conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') \
             AND TABLE_NAME <> '_tether_suspended_triggers' ORDER BY TABLE_NAME",
            (database,),
        )
        .await
        .map_err(q("listing tables"))?;
    let mut tables: Vec<Table> = names
        .into_iter()
        .map(|name| Table {
            name,
            schema: None,
            columns: vec![],
            primary_key: vec![],
            ..Default::default()
        })
        .collect();
    let index: HashMap<String, usize> = tables.iter().enumerate().map(|(i, t)| (t.name.clone(), i)).collect();

    let cols: Vec<ColumnRow> = conn
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        .await
        .map_err(q("reading columns"))?;
    // A system-versioned table's ROW END column, which MariaDB adds to every unique key.
    let mut row_ends: HashSet<(String, String)> = HashSet::new();
    for (table, name, column_type, nullable, default, extra, generation) in cols {
        let Some(&ti) = index.get(&table) else { continue };
        if generation.as_deref().is_some_and(|g| g.eq_ignore_ascii_case("ROW END")) {
            row_ends.insert((table.clone(), name.clone()));
        }
        let extra_l = extra.to_ascii_lowercase();
        if let Some(digits) = on_update_now(&extra_l) {
            tables[ti].extras.updated_now.insert(name.clone(), digits);
        }
        let generated = extra_l.contains("generated") && !extra_l.contains("default_generated");
        if generated && extra_l.contains("virtual") {
            tables[ti].extras.virtual_columns.push(name.clone());
        }
        let default = if generated {
            None
        } else {
            normalize_default(default, &extra_l, mariadb)
        };
        tables[ti].columns.push(Column {
            name,
            normalized_type: types::mysql(&column_type),
            engine_type: column_type,
            nullable: nullable == "YES",
            default,
            identity: extra_l.contains("auto_increment").then_some(Identity::AutoIncrement),
            generated: if generated {
                Some(generation.unwrap_or_default())
            } else {
                None
            },
        });
    }

    // Unique indexes, including PRIMARY. An index with a NULL column (MySQL 8
    // functional key part) cannot be referenced and is skipped.
    type KeyRow = (String, String, i64, Option<String>, Option<u32>, Option<String>);
    let keys: Vec<KeyRow> = conn
        .exec(
            "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, COLLATION \
             FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND NON_UNIQUE = 0 ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        .await
        .map_err(q("reading keys"))?;
    let mut grouped: BTreeMap<(String, String), Option<Vec<String>>> = BTreeMap::new();
    let mut parts: BTreeMap<(String, String), KeyParts> = BTreeMap::new();
    for (table, idx, _, col, prefix, collation) in keys {
        // (The key the table declares is without it: what another engine gets.)
        if col
            .as_ref()
            .is_some_and(|c| row_ends.contains(&(table.clone(), c.clone())))
        {
            continue;
        }
        let p = parts.entry((table.clone(), idx.clone())).or_default();
        p.prefixes.push(prefix);
        p.descending.push(collation.as_deref() == Some("D"));
        let entry = grouped.entry((table, idx)).or_insert_with(|| Some(vec![]));
        match (entry.as_mut(), col) {
            (Some(v), Some(c)) => v.push(c),
            _ => *entry = None,
        }
    }
    keep_key_parts(&mut tables, &index, parts);
    for ((table, idx), cols) in grouped {
        let (Some(&ti), Some(columns)) = (index.get(&table), cols) else {
            continue;
        };
        if idx == "PRIMARY" {
            tables[ti].primary_key = columns;
        } else {
            // MariaDB and MySQL make no difference between a UNIQUE constraint and a
            // unique index: both are reported as constraints.
            tables[ti].unique_keys.push(UniqueKey {
                name: idx,
                columns,
                constraint: true,
                predicate: None,
            });
        }
    }

    // Other indexes: their columns and method, for copies onto other engines (a copy
    // onto MariaDB/MySQL takes SHOW CREATE TABLE).
    type IndexRow = (String, String, Option<String>, String, Option<u32>, Option<String>);
    let others: Vec<IndexRow> = conn
        .exec(
            "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, INDEX_TYPE, SUB_PART, COLLATION \
             FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND NON_UNIQUE = 1 ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        .await
        .map_err(q("reading indexes"))?;
    let mut parts: BTreeMap<(String, String), KeyParts> = BTreeMap::new();
    for (table, name, column, method, prefix, collation) in others {
        let Some(&ti) = index.get(&table) else { continue };
        let p = parts.entry((table.clone(), name.clone())).or_default();
        p.prefixes.push(prefix);
        p.descending.push(collation.as_deref() == Some("D"));
        let indexes = &mut tables[ti].extras.indexes;
        if indexes.last().is_none_or(|i| i.name != name) {
            indexes.push(tether_schema::Index {
                name,
                columns: vec![],
                unique: false,
                method: method.to_ascii_lowercase(),
                predicate: None,
                definition: String::new(),
                comment: None,
            });
        }
        let i = indexes.last_mut().expect("pushed above");
        match column {
            Some(c) if i.method != "expression" => i.columns.push(c),
            // A functional key part: not a column.
            _ => {
                i.columns.clear();
                i.method = "expression".into();
            }
        }
    }

    keep_key_parts(&mut tables, &index, parts);

    let fks: Vec<FkRow> = conn
        .exec(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA, \
                    k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE \
             FROM information_schema.KEY_COLUMN_USAGE k \
             LEFT JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
               ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
              AND r.TABLE_NAME = k.TABLE_NAME \
             WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
             ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            (database,),
        )
        .await
        .map_err(q("reading foreign keys"))?;
    let mut dangling: Vec<tether_schema::objects::DanglingFk> = Vec::new();
    for (table, name, column, ref_schema, ref_table, ref_column, on_update, on_delete) in fks {
        let Some(&ti) = index.get(&table) else { continue };
        let referenced_schema = ref_schema.filter(|s| s != database);
        // The server lists the key of a table the login can read, but neither the
        // referenced table nor (REFERENTIAL_CONSTRAINTS) the key's rules when the login
        // has no privilege on the referenced table: copying the child without its parent
        // would lose the key without a word.
        if referenced_schema.is_none() && !index.contains_key(&ref_table) {
            // Or the table is not there at all: dropped while `foreign_key_checks` was
            // 0 (legal in MariaDB/MySQL), the key left behind. The server says which
            // (1146 for a table that does not exist where the login may read the
            // database; 1142 where it may not read the table). Such a key is kept out
            // of the table's keys and reported: the other tables are as they were.
            let probe = format!(
                "SELECT 1 FROM `{}`.`{}` LIMIT 0",
                database.replace('`', "``"),
                ref_table.replace('`', "``")
            );
            let missing = match dangling.last_mut() {
                Some(d) if d.table == table && d.name == name => {
                    d.columns.push(column);
                    d.referenced_columns.push(ref_column);
                    continue;
                }
                _ => matches!(conn.query_drop(probe).await, Err(mysql_async::Error::Server(e)) if e.code == 1146),
            };
            if missing {
                dangling.push(tether_schema::objects::DanglingFk {
                    table,
                    name,
                    columns: vec![column],
                    referenced_table: ref_table,
                    referenced_columns: vec![ref_column],
                });
                continue;
            }
            return Err(ConnectError::Query {
                url: shown.to_string(),
                what: "reading foreign keys".into(),
                message: format!(
                    "table {table}'s foreign key {name} references table {ref_table}, which this login cannot \
                     see: it has no privileges on {ref_table}. Grant it SELECT on {ref_table} (a copy reads every \
                     table the copied ones reference; see the README on what a MariaDB/MySQL source login needs)"
                ),
            });
        }
        let t = &mut tables[ti];
        let (on_update, on_delete) = (on_update.unwrap_or_default(), on_delete.unwrap_or_default());
        match t.foreign_keys.last_mut() {
            Some(fk) if fk.name == name => {
                fk.columns.push(column);
                fk.referenced_columns.push(ref_column);
            }
            _ => t.foreign_keys.push(ForeignKey {
                name,
                columns: vec![column],
                referenced_table: ref_table,
                referenced_schema,
                referenced_columns: vec![ref_column],
                on_delete: FkAction::parse(&on_delete).unwrap_or(FkAction::NoAction),
                on_update: FkAction::parse(&on_update).unwrap_or(FkAction::NoAction),
                deferrable: false,
                initially_deferred: false,
                is_virtual: false,
                delete_set_columns: Vec::new(),
                match_full: false,
                not_valid: false,
                partition: None,
            }),
        }
    }

    one_type_for_tinyint_fk_columns(&mut tables);
    let mut objects = read_objects(conn, shown, database, &mut tables).await?;
    objects.dangling_fks = dangling;
    let mut schema = Schema {
        engine: tether_schema::Engine::Mysql,
        default_schema: None,
        tables,
        objects,
    };
    schema.sort();
    Ok(schema)
}

/// A TINYINT(1) is read as a boolean, any other TINYINT as an integer; InnoDB lets an
/// FK join the two (the `(1)` is a display width), PostgreSQL refuses an FK between
/// boolean and smallint (42804). The FK column takes its parent's type, as the other
/// engines compare the two (followed a few steps down chains of FKs).
fn one_type_for_tinyint_fk_columns(tables: &mut [Table]) {
    let tinyint = |ty: &DataType| matches!(ty, DataType::Boolean | DataType::Int { bytes: 1, .. });
    for _ in 0..8 {
        let mut found: Vec<(usize, usize, DataType)> = Vec::new();
        for (ti, t) in tables.iter().enumerate() {
            for fk in t.foreign_keys.iter().filter(|fk| fk.referenced_schema.is_none()) {
                let Some(parent) = tables.iter().find(|p| p.name == fk.referenced_table) else {
                    continue;
                };
                for (col, referenced) in fk.columns.iter().zip(&fk.referenced_columns) {
                    let (Some(ci), Some(pc)) =
                        (t.columns.iter().position(|c| &c.name == col), parent.column(referenced))
                    else {
                        continue;
                    };
                    let own = &t.columns[ci].normalized_type;
                    let theirs = &pc.normalized_type;
                    if tinyint(own) && tinyint(theirs) && own != theirs {
                        found.push((ti, ci, theirs.clone()));
                    }
                }
            }
        }
        if found.is_empty() {
            return;
        }
        for (ti, ci, ty) in found {
            tables[ti].columns[ci].normalized_type = ty;
        }
    }
}

/// Keeps in `extras.key_parts` the parts of the keys and indexes with a prefix or a
/// `DESC` part (the others are whole columns in ascending order).
fn keep_key_parts(tables: &mut [Table], index: &HashMap<String, usize>, parts: BTreeMap<(String, String), KeyParts>) {
    for ((table, name), p) in parts {
        let Some(&ti) = index.get(&table) else { continue };
        if p.prefixes.iter().any(Option::is_some) || p.descending.iter().any(|d| *d) {
            tables[ti].extras.key_parts.insert(name, p);
        }
    }
}

/// The `AUTO_INCREMENT=n` of SHOW CREATE TABLE's table options (the value the table
/// hands out next; absent before its first row when it is 1).
fn next_auto_increment(definition: &str) -> Option<i64> {
    let options = &definition[definition.rfind("\n)")?..];
    let rest = options.split(" AUTO_INCREMENT=").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// The unique keys `definition` (SHOW CREATE TABLE) declares `WITHOUT OVERLAPS`, with
/// their period's name, start and end columns: `(key, (period, start, end))`.
fn without_overlaps(definition: &str) -> Vec<(String, (String, String, String))> {
    // `  PERIOD FOR `p` (`s`, `e`),` and `  UNIQUE KEY `u` (`room`,`p` WITHOUT OVERLAPS)`.
    let names = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let periods: Vec<Vec<String>> = definition
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("PERIOD FOR "))
        .map(names)
        .filter(|n| n.len() == 3)
        .collect();
    definition
        .lines()
        .filter(|l| l.contains(" WITHOUT OVERLAPS)"))
        .filter_map(|l| l.trim_start().strip_prefix("UNIQUE KEY "))
        .filter_map(|l| {
            let n = names(l);
            let (key, period) = (n.first()?, n.last()?);
            let p = periods.iter().find(|p| &p[0] == period)?;
            Some((key.clone(), (p[0].clone(), p[1].clone(), p[2].clone())))
        })
        .collect()
}

/// The fractional digits of an `on update current_timestamp(N)` in a column's EXTRA
/// (MariaDB: `on update current_timestamp()`; MySQL: `DEFAULT_GENERATED on update
/// CURRENT_TIMESTAMP(3)`), or None when the column has no such clause.
fn on_update_now(extra: &str) -> Option<u8> {
    let rest = extra.split("on update ").nth(1)?;
    let rest = rest
        .strip_prefix("current_timestamp")
        .or_else(|| rest.strip_prefix("now"))
        .or_else(|| rest.strip_prefix("localtimestamp"))?;
    let digits = rest
        .strip_prefix('(')
        .and_then(|r| r.split(')').next())
        .and_then(|d| d.trim().parse().ok())
        .unwrap_or(0);
    Some(digits)
}

/// Defaults as SQL expressions. MariaDB already reports them so (with `NULL` for
/// none); MySQL reports literals bare and expressions with `DEFAULT_GENERATED`.
fn normalize_default(default: Option<String>, extra: &str, mariadb: bool) -> Option<String> {
    let d = default?;
    if mariadb {
        return (d != "NULL").then_some(d);
    }
    if extra.contains("default_generated") || d.parse::<f64>().is_ok() {
        Some(d)
    } else {
        Some(format!("'{}'", d.replace('\'', "''")))
    }
}

/// `CREATE DEFINER=`u`@`h` TRIGGER ...` without its `DEFINER=...` clause: the copy is
/// created by (and runs as) the destination's user, as `mariadb-dump --skip-definer`.
fn without_definer(sql: &str) -> String {
    match sql.find("DEFINER=") {
        Some(i) => {
            let rest = &sql[i..];
            let end = rest.find(' ').map_or(rest.len(), |e| e + 1);
            format!("{}{}", &sql[..i], &rest[end..])
        }
        None => sql.to_string(),
    }
}

/// A trigger's or routine's statement with every qualification by the source's own
/// database (`` `shop`.t ``, `shop.t`, `shop . t`, `shop/* */.t`, `[shop].t` under MSSQL)
/// removed, so that the copy's names resolve in the database it is created in (a
/// trigger's and a routine's unqualified names are its own database's), never in the
/// source's. The body is read as the server reads it under the object's `sql_mode`
/// ([`lex::Mode`]: `"..."` and `[...]` names, backslash escapes or not). String
/// literals and comments are left as they are; `strings_refused`: `Err` with what the
/// body says when a string literal names the source database followed by a dot (SQL
/// built in a string, `PREPARE ... FROM` in a procedure, which Tether cannot rewrite
/// safely), or when the body cannot be read (a string or comment without its end).
fn unqualify_database(body: &str, database: &str, mode: lex::Mode, strings_refused: bool) -> Result<String, String> {
    let tokens = match lex::tokens(body, mode) {
        Ok(tokens) => tokens,
        Err(why) if strings_refused => return Err(format!("it cannot be read: {why}")),
        Err(_) => return Ok(body.to_string()),
    };
    let mut out = String::with_capacity(body.len());
    // Whether the last code token was a `.` (the identifier after it is not a database).
    let mut after_dot = false;
    let mut i = 0;
    while i < tokens.len() {
        let t = &tokens[i];
        let text = &body[t.start..t.end];
        match &t.kind {
            lex::Kind::Str => {
                if strings_refused && lex::string_names(text, database) {
                    return Err(format!("a string in it names the source database `{database}`: {text}"));
                }
                after_dot = false;
            }
            lex::Kind::Ident { name, .. } if !after_dot && name == database => {
                // `db` `.` (blanks and comments allowed around the dot): dropped with its
                // dot and the blanks after it.
                let mut k = i + 1;
                while tokens.get(k).is_some_and(lex::Token::is_space) {
                    k += 1;
                }
                if tokens.get(k).is_some_and(|d| d.kind == lex::Kind::Punct('.')) {
                    k += 1;
                    while tokens.get(k).is_some_and(|s| s.kind == lex::Kind::Blank) {
                        k += 1;
                    }
                    i = k;
                    after_dot = true;
                    continue;
                }
                after_dot = false;
            }
            _ if t.is_space() => {}
            kind => after_dot = *kind == lex::Kind::Punct('.'),
        }
        out.push_str(text);
        i += 1;
    }
    Ok(out)
}

/// Whether `sql_mode` (as `SHOW CREATE TRIGGER/PROCEDURE/FUNCTION` gives it) makes `"`
/// quote identifiers: `ANSI_QUOTES`, alone or within a combination mode.
#[cfg(test)]
fn ansi_quotes(sql_mode: Option<&str>) -> bool {
    lex::Mode::of(sql_mode).ansi_quotes
}

/// The routines a body calls: names followed by `(` ([`crate::engine::called_names`]),
/// and `CALL p` without parentheses (MariaDB takes it), `CALL db.p` by its last part.
fn called_names(body: &str, mode: lex::Mode) -> HashSet<String> {
    let mut out = crate::engine::called_names(body);
    let Ok(tokens) = lex::tokens(body, mode) else {
        return out;
    };
    let code: Vec<&lex::Token> = tokens.iter().filter(|t| !t.is_space()).collect();
    for (i, t) in code.iter().enumerate() {
        let lex::Kind::Ident { name, quoted: false } = &t.kind else {
            continue;
        };
        if !name.eq_ignore_ascii_case("CALL") {
            continue;
        }
        let mut j = i + 1;
        while let Some(lex::Kind::Ident { name, .. }) = code.get(j).map(|t| &t.kind) {
            if code.get(j + 1).is_some_and(|d| d.kind == lex::Kind::Punct('.')) {
                j += 2;
            } else {
                out.insert(name.to_lowercase());
                break;
            }
        }
    }
    out
}

/// What a trigger or routine whose body cannot be rewritten is created as: a statement
/// that fails, naming it and why (a copy must never read or write the source's tables).
fn refused_object(kind: &str, name: &str, database: &str, why: &str) -> String {
    tracing::warn!("{kind} {name}: not copied: {why}");
    // MESSAGE_TEXT holds at most 128 characters.
    let text = if why.starts_with("it cannot be read") {
        format!("tether: {kind} {name} cannot be read safely (for names of the source database {database}); not copied")
    } else {
        format!("tether: {kind} {name} names the source database {database} in a string; not copied")
    };
    let text: String = text.chars().take(128).collect();
    format!(
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = {}",
        tether_schema::sql::text(tether_schema::Engine::Mysql, &text)
    )
}

/// The tables and views (of `known`) a view's definition reads: identifiers in
/// table position, `` `t` `` or `` `db`.`t` `` (not a column `` `t`.`c` `` nor an
/// alias `` AS `x` ``).
fn view_reads(definition: &str, database: &str, known: &[String]) -> Vec<TableName> {
    let own_db = format!("`{}`.", database.replace('`', "``"));
    let mut out: Vec<TableName> = Vec::new();
    let body = definition.split_once(" AS ").map_or(definition, |(_, b)| b);
    let mut rest = body;
    let mut offset = 0;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else { break };
        let name = &after[..close];
        let start = offset + open;
        let end = start + close + 2;
        let before = &body[..start];
        let qualified_here = before.ends_with(&own_db);
        let column = body[end..].starts_with('.') || (before.ends_with('.') && !qualified_here);
        let t = TableName::new(None, name);
        if !column && !before.ends_with("AS ") && known.iter().any(|k| k == name) && !out.contains(&t) {
            out.push(t);
        }
        offset = end;
        rest = &body[end..];
    }
    out
}

/// A definition the user may not read (`SHOW VIEW`, `TRIGGER` privileges) is left
/// out rather than failing the whole reading: such a user could not copy it anyway.
fn unreadable_is_none(
    result: Result<Option<mysql_async::Row>, mysql_async::Error>,
    what: &str,
    name: &str,
) -> Option<mysql_async::Row> {
    result
        .map_err(|e| tracing::warn!("{what} {name}: its definition cannot be read: {}", describe(&e)))
        .ok()
        .flatten()
}

/// The MariaDB sequences the tables' defaults draw from (`DEFAULT nextval(seq)`), and
/// those their triggers (or the routines these call) use, with their state, in each
/// table's `extras.sequences`; those views read or draw from (or the routines they
/// call) in `objects.view_sequences`. A table's definition then names a sequence of
/// this database without the database (`nextval(`shop`.`s`)` would make a copy draw
/// from the source's sequence). A trigger or view created without its sequence fails
/// on the copy (1146) at every INSERT, or at its CREATE.
async fn sequences(
    conn: &mut Conn,
    shown: &str,
    database: &str,
    tables: &mut [Table],
    objects: &mut SchemaObjects,
) -> Result<(), ConnectError> {
    let q = |what: &'static str| failed(shown, what);
    let ident = |n: &str| format!("`{}`", n.replace('`', "``"));
    let with_triggers = tables.iter().any(|t| !t.extras.triggers.is_empty());
    if !with_triggers
        && objects.views.is_empty()
        && !tables.iter().any(|t| {
            t.extras
                .definition
                .as_deref()
                .is_some_and(|d| SEQUENCE_FUNCTIONS.iter().any(|f| d.contains(&format!("{f}("))))
        })
    {
        return Ok(());
    }
    let names: Vec<String> = conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'SEQUENCE' \
             ORDER BY TABLE_NAME",
            (database,),
        )
        .await
        .map_err(q("listing sequences"))?;
    if names.is_empty() {
        return Ok(());
    }
    // The words of a body and of the routines it calls (with those they call).
    let named = |body: &str, calls: &[String], name: &str| {
        let routines = objects.functions_with_callees(calls.iter().map(String::as_str));
        std::iter::once(body)
            .chain(routines.iter().map(|f| f.definition.as_str()))
            .any(|b| {
                tether_schema::body::words(b, true)
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(name))
            })
    };
    let qualified_db = format!("{}.", ident(database));
    let mut of_views: Vec<(String, Sequence)> = Vec::new();
    for name in names {
        // `f(`s`` and `f(`db`.`s`` (each followed by `)` or `,`) for each sequence function a default may call.
        let spellings: Vec<(String, String)> = SEQUENCE_FUNCTIONS
            .iter()
            .map(|f| {
                (
                    // (No closing parenthesis: setval's arguments follow.)
                    format!("{f}({}", ident(&name)),
                    format!("{f}({qualified_db}{}", ident(&name)),
                )
            })
            .collect();
        let by_default: Vec<usize> = (0..tables.len())
            .filter(|&i| {
                tables[i]
                    .extras
                    .definition
                    .as_deref()
                    .is_some_and(|d| spellings.iter().any(|(b, q)| d.contains(b) || d.contains(q)))
            })
            .collect();
        let by_trigger: Vec<usize> = (0..tables.len())
            .filter(|&i| !by_default.contains(&i))
            .filter(|&i| {
                let x = &tables[i].extras;
                x.triggers.iter().any(|tr| named(&tr.definition, &x.functions, &name))
            })
            .collect();
        let by_view: Vec<String> = objects
            .views
            .iter()
            .filter(|v| named(&v.definition, &v.functions, &name))
            .map(|v| v.name.clone())
            .collect();
        if by_default.is_empty() && by_trigger.is_empty() && by_view.is_empty() {
            continue;
        }
        type State = (i64, i64, i64, i64, i64, i64, i64);
        let state: Option<State> = conn
            .query_first(format!(
                "SELECT next_not_cached_value, minimum_value, maximum_value, start_value, increment, cache_size, \
                 cycle_option FROM {}.{}",
                ident(database),
                ident(&name)
            ))
            .await
            .map_err(q("reading a sequence"))?;
        let Some((next, min, max, start, increment, cache, cycle)) = state else {
            continue;
        };
        let sequence = |column: String| Sequence {
            schema: None,
            name: name.clone(),
            column,
            identity: false,
            owned: false,
            data_type: "bigint".into(),
            start,
            increment,
            min,
            max,
            cache,
            cycle: cycle != 0,
            // The next value the source will hand out, cached ones included: the
            // copy's sequence continues from there.
            last_value: Some(next),
        };
        for i in by_default {
            let t = &mut tables[i];
            let definition = t.extras.definition.take().unwrap_or_default();
            let definition = spellings.iter().fold(definition, |d, (b, q)| d.replace(q, b));
            let column = t
                .columns
                .iter()
                .find(|c| c.default.as_deref().is_some_and(|d| d.contains(&name)))
                .map(|c| c.name.clone())
                .unwrap_or_default();
            t.extras.definition = Some(definition);
            t.extras.sequences.push(sequence(column));
        }
        for i in by_trigger {
            tables[i].extras.sequences.push(sequence(String::new()));
        }
        of_views.extend(by_view.into_iter().map(|v| (v, sequence(String::new()))));
    }
    for (view, s) in of_views {
        objects.view_sequences.entry(view).or_default().push(s);
    }
    Ok(())
}

/// The functions of a MariaDB sequence a column's DEFAULT may call (`NEXT VALUE FOR s`
/// and `PREVIOUS VALUE FOR s` are stored as `nextval(s)` and `lastval(s)`): each names
/// its sequence, qualified with the source's database when it was written so.
const SEQUENCE_FUNCTIONS: &[&str] = &["nextval", "lastval", "setval"];

/// MariaDB's "Table doesn't exist".
const ER_NO_SUCH_TABLE: u16 = 1146;

/// Each table's `SHOW CREATE TABLE` and triggers (`SHOW CREATE TRIGGER`), and the
/// database's views (`SHOW CREATE VIEW`), for a copy onto MariaDB/MySQL.
async fn read_objects(
    conn: &mut Conn,
    shown: &str,
    database: &str,
    tables: &mut Vec<Table>,
) -> Result<SchemaObjects, ConnectError> {
    let q = |what: &'static str| failed(shown, what);
    let ident = |n: &str| format!("`{}`", n.replace('`', "``"));
    let mut vanished = Vec::new();
    for t in tables.iter_mut() {
        let row: Option<(String, String)> =
            match conn.query_first(format!("SHOW CREATE TABLE {}", ident(&t.name))).await {
                // Dropped since the listing (a scratch table of an online schema change,
                // say): it is not part of the schema any more.
                Err(mysql_async::Error::Server(e)) if e.code == ER_NO_SUCH_TABLE => {
                    vanished.push(t.name.clone());
                    continue;
                }
                read => read.map_err(q("reading SHOW CREATE TABLE"))?,
            };
        t.extras.definition = row.map(|(_, sql)| sql);
        t.extras.auto_increment = t.extras.definition.as_deref().and_then(next_auto_increment);
        for (key, period) in without_overlaps(t.extras.definition.as_deref().unwrap_or("")) {
            t.extras.key_parts.entry(key).or_default().without_overlaps = Some(period);
        }
    }
    tables.retain(|t| !vanished.contains(&t.name));
    // CHECKs and comments are in SHOW CREATE TABLE; listed apart for other engines
    // (and the schema report).
    let checks: Vec<(String, String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME",
            (database,),
        )
        .await
        .map_err(q("reading CHECK constraints"))?;
    for (table, name, clause) in checks {
        if let Some(t) = tables.iter_mut().find(|t| t.name == table) {
            t.extras.checks.push(Check {
                name,
                definition: format!("CHECK ({clause})"),
                exclusion: false,
            });
        }
    }
    let comments: Vec<(String, String, String)> = conn
        .exec(
            "SELECT TABLE_NAME, '', TABLE_COMMENT FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_COMMENT <> '' \
             UNION ALL SELECT TABLE_NAME, COLUMN_NAME, COLUMN_COMMENT FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND COLUMN_COMMENT <> ''",
            (database, database),
        )
        .await
        .map_err(q("reading comments"))?;
    for (table, column, comment) in comments {
        if let Some(t) = tables.iter_mut().find(|t| t.name == table) {
            if column.is_empty() {
                t.extras.comment = Some(comment);
            } else {
                t.extras.column_comments.insert(column, comment);
            }
        }
    }
    let triggers: Vec<(String, String)> = conn
        .exec(
            "SELECT EVENT_OBJECT_TABLE, TRIGGER_NAME FROM information_schema.TRIGGERS \
             WHERE TRIGGER_SCHEMA = ? ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER",
            (database,),
        )
        .await
        .map_err(q("listing triggers"))?;
    for (table, name) in triggers {
        let row = unreadable_is_none(
            conn.query_first(format!("SHOW CREATE TRIGGER {}", ident(&name))).await,
            "trigger",
            &name,
        );
        let (mode, definition): (Option<String>, Option<String>) = match row {
            Some(r) => (r.get(1), r.get(2)),
            None => (None, None),
        };
        if let (Some(t), Some(definition)) = (tables.iter_mut().find(|t| t.name == table), definition) {
            // A trigger runs under the sql_mode it was created with (an INSERT of 0 into
            // an AUTO_INCREMENT column means "the next id" unless NO_AUTO_VALUE_ON_ZERO):
            // created under the source's, then the session's set back (after a line
            // break: a body may end in a `-- comment`).
            // Names qualified with the source database would make the copy's trigger
            // write into the source's tables.
            let lexed = lex::Mode::of(mode.as_deref());
            let definition = match unqualify_database(&without_definer(&definition), database, lexed, true) {
                Ok(body) => match mode {
                    Some(mode) => format!(
                        "SET SESSION sql_mode = {}; {body}\n; SET SESSION sql_mode = '{}'",
                        tether_schema::sql::text(tether_schema::Engine::Mysql, &mode),
                        crate::mysql::rw::SQL_MODE
                    ),
                    None => body,
                },
                Err(why) => refused_object("trigger", &name, database, &why),
            };
            t.extras.triggers.push(Trigger {
                name,
                definition,
                function: None,
            });
        }
    }
    let views: Vec<String> = conn
        .exec(
            "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME",
            (database,),
        )
        .await
        .map_err(q("listing views"))?;
    let mut known: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    known.extend(views.iter().cloned());
    let mut objects = SchemaObjects::default();
    for name in views {
        let row = unreadable_is_none(
            conn.query_first(format!("SHOW CREATE VIEW {}", ident(&name))).await,
            "view",
            &name,
        );
        let Some(definition) = row.and_then(|r| r.get::<String, _>(1)) else {
            continue;
        };
        let reads = view_reads(&definition, database, &known);
        // Names are qualified with the source database; the copy lives in another.
        let definition = without_definer(&definition);
        // (The server stores a view's text canonical, its names in backticks.)
        let definition = unqualify_database(&definition, database, lex::Mode::default(), false).unwrap_or(definition);
        objects.views.push(View {
            schema: None,
            name,
            definition,
            materialized: false,
            reads,
            functions: Vec::new(),
            indexes: Vec::new(),
            extensions: Vec::new(),
            comment: None,
            // (MariaDB has no trigger on a view.)
            triggers: Vec::new(),
            rules: Vec::new(),
        });
    }
    // A view reading another view comes after it.
    let mut ordered: Vec<View> = Vec::new();
    while !objects.views.is_empty() {
        let ready = objects
            .views
            .iter()
            .position(|v| v.reads.iter().all(|r| !objects.views.iter().any(|o| o.name == r.name)))
            .unwrap_or(0);
        ordered.push(objects.views.remove(ready));
    }
    objects.views = ordered;
    routines(conn, database, tables, &mut objects, &q).await?;
    sequences(conn, shown, database, tables, &mut objects).await?;
    // Events run on a schedule against the database they live in: not copied (said).
    let events: Vec<String> = conn
        .exec(
            "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY EVENT_NAME",
            (database,),
        )
        .await
        .map_err(q("listing events"))?;
    objects
        .not_copied
        .extend(events.into_iter().map(|e| ("event".to_string(), e)));
    Ok(objects)
}

/// The stored functions and procedures the views and triggers call, with those they
/// call (names followed by `(` in a body), from `SHOW CREATE FUNCTION/PROCEDURE`
/// without their `DEFINER`, each created under the `sql_mode` it was created with.
async fn routines<E: Fn(mysql_async::Error) -> ConnectError>(
    conn: &mut Conn,
    database: &str,
    tables: &mut [Table],
    objects: &mut SchemaObjects,
    q: &impl Fn(&'static str) -> E,
) -> Result<(), ConnectError> {
    let listed: Vec<(String, String)> = conn
        .exec(
            "SELECT ROUTINE_NAME, ROUTINE_TYPE FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? \
             AND ROUTINE_TYPE IN ('FUNCTION', 'PROCEDURE') ORDER BY CREATED, ROUTINE_NAME",
            (database,),
        )
        .await
        .map_err(q("listing stored routines"))?;
    if listed.is_empty() {
        return Ok(());
    }
    let calls = |text: &str, mode: Option<&str>| -> Vec<String> {
        // (A copied body begins with the `SET SESSION sql_mode = '...'` it runs under.)
        let mode = mode.or_else(|| {
            text.strip_prefix("SET SESSION sql_mode = '")
                .and_then(|rest| rest.split_once('\''))
                .map(|(m, _)| m)
        });
        let called = called_names(text, lex::Mode::of(mode));
        let mut out: Vec<String> = listed
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| called.contains(&n.to_ascii_lowercase()))
            .collect();
        out.dedup();
        out
    };
    for t in tables.iter_mut() {
        let mut used: Vec<String> = t
            .extras
            .triggers
            .iter()
            .flat_map(|tr| calls(&tr.definition, None))
            .collect();
        used.sort();
        used.dedup();
        t.extras.functions = used;
    }
    for v in &mut objects.views {
        v.functions = calls(&v.definition, None);
    }
    let mut wanted: Vec<String> = tables
        .iter()
        .flat_map(|t| t.extras.functions.iter())
        .chain(objects.views.iter().flat_map(|v| v.functions.iter()))
        .cloned()
        .collect();
    let mut bodies: HashMap<String, (String, Vec<String>)> = HashMap::new();
    let mut i = 0;
    while i < wanted.len() {
        let name = wanted[i].clone();
        i += 1;
        if bodies.contains_key(&name) {
            continue;
        }
        let Some((_, kind)) = listed.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        let row = unreadable_is_none(
            conn.query_first(format!("SHOW CREATE {kind} `{}`", name.replace('`', "``")))
                .await,
            "routine",
            &name,
        );
        let (mode, definition): (Option<String>, Option<String>) = match row {
            Some(r) => (r.get(1), r.get(2)),
            None => (None, None),
        };
        let Some(definition) = definition else { continue };
        let definition = without_definer(&definition);
        let called: Vec<String> = calls(&definition, mode.as_deref())
            .into_iter()
            .filter(|c| *c != name)
            .collect();
        wanted.extend(called.iter().cloned());
        // Its names qualified with the source database would read and write the source.
        let definition = match unqualify_database(&definition, database, lex::Mode::of(mode.as_deref()), true) {
            Ok(definition) => match mode {
                Some(mode) => format!(
                    "SET SESSION sql_mode = {}; {definition}\n; SET SESSION sql_mode = '{}'",
                    tether_schema::sql::text(tether_schema::Engine::Mysql, &mode),
                    crate::mysql::rw::SQL_MODE
                ),
                None => definition,
            },
            Err(why) => refused_object(&kind.to_ascii_lowercase(), &name, database, &why),
        };
        bodies.insert(name, (definition, called));
    }
    // In the order they were created (one calling another it was created before).
    for (name, kind) in &listed {
        if !bodies.contains_key(name) {
            objects.not_copied.push((kind.to_ascii_lowercase(), name.clone()));
        }
        if let Some((definition, calls)) = bodies.remove(name) {
            objects.functions.push(Function {
                name: name.clone(),
                definition,
                calls,
                after_tables: false,
                after_views: false,
                types: Vec::new(),
                maybe: false,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifications_by_the_source_database_are_removed_outside_strings_and_comments() {
        let body = "CREATE TRIGGER trg AFTER INSERT ON `shop`.t FOR EACH ROW INSERT INTO shop.audit (t_id, note) \
                    SELECT NEW.id, 'shop is here' FROM shop . t2 JOIN `shop`.`t3` ON shop.t2.id = other.x \
                    WHERE a.shop = 1 -- shop.audit\n/* shop.x */ AND shopping.y = 2";
        assert_eq!(
            unqualify_database(body, "shop", lex::Mode::default(), true).unwrap(),
            "CREATE TRIGGER trg AFTER INSERT ON t FOR EACH ROW INSERT INTO audit (t_id, note) \
             SELECT NEW.id, 'shop is here' FROM t2 JOIN `t3` ON t2.id = other.x \
             WHERE a.shop = 1 -- shop.audit\n/* shop.x */ AND shopping.y = 2"
        );
        // SQL built in a string cannot be rewritten safely.
        let dynamic = "CREATE PROCEDURE p() BEGIN PREPARE s FROM 'INSERT INTO shop.t VALUES (1)'; EXECUTE s; END";
        assert!(unqualify_database(dynamic, "shop", lex::Mode::default(), true)
            .unwrap_err()
            .contains("shop.t"));
        // A view's strings are data: left as they are.
        assert_eq!(
            unqualify_database(
                "select 'shop.t' AS `x` from `shop`.`t`",
                "shop",
                lex::Mode::default(),
                false
            )
            .unwrap(),
            "select 'shop.t' AS `x` from `t`"
        );
    }

    #[test]
    fn under_ansi_quotes_double_quotes_are_identifiers() {
        let body = "CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW \
                    INSERT INTO \"shop\".\"log\" (msg) SELECT 'shop.x' FROM \"shop\" . t2, \"a\"\"b\".c";
        assert_eq!(
            unqualify_database(body, "shop", lex::Mode::of(Some("ANSI_QUOTES")), false).unwrap(),
            "CREATE TRIGGER t_ai AFTER INSERT ON t FOR EACH ROW \
             INSERT INTO \"log\" (msg) SELECT 'shop.x' FROM t2, \"a\"\"b\".c"
        );
        // SQL built in a string may quote the database in double quotes: refused too.
        let dynamic = "CREATE PROCEDURE p() BEGIN PREPARE s FROM 'INSERT INTO \"shop\".t VALUES (1)'; END";
        assert!(unqualify_database(dynamic, "shop", lex::Mode::of(Some("ANSI_QUOTES")), true).is_err());
        assert!(ansi_quotes(Some("STRICT_TRANS_TABLES,ANSI_QUOTES")));
        assert!(ansi_quotes(Some("PIPES_AS_CONCAT,ORACLE")));
        assert!(!ansi_quotes(Some("STRICT_TRANS_TABLES")));
        assert!(!ansi_quotes(None));
    }
}
