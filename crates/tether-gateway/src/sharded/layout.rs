//! The layout of a sharded keyspace, read from the sharding engine's own catalogs (a
//! MariaDB Spider head): which tables are sharded (partitioning function, its
//! columns, the node of each partition), copied to every node, or plain on the head.
//!
//! Sources, all on the head: `information_schema.TABLES` (engine, table comment),
//! `information_schema.PARTITIONS` (method, expression, bounds, partition comments),
//! `SHOW CREATE TABLE` (a table-level `CONNECTION` string) and `mysql.servers`
//! (where each server named in a `srv "..."` parameter is). A partition's parameters
//! override its table's; several servers in one `srv` are Spider's multiple links
//! (every write goes to each: a copy per node).

use std::collections::BTreeMap;
use std::fmt;

use crate::wire::value::Value;
use tether_connect::{DbUrl, ServerUrl};
use tether_schema::{sql, Engine};

use crate::backend::Backend;
use crate::reply::ServerError;

/// What went wrong reading a layout.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("sharded keyspace: the backend URL names no database")]
    NoDatabase,
    #[error("sharded keyspace: reading the layout from the head: {context}: {code} ({state}): {message}")]
    Read {
        context: String,
        code: u16,
        state: String,
        message: String,
    },
    #[error("sharded keyspace: table `{table}`: {message}")]
    Table { table: String, message: String },
}

/// A data node: a server the head knows (`CREATE SERVER`, `mysql.servers`).
#[derive(Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub host: String,
    pub port: u16,
    /// The server's default database, if it has one (`DATABASE` option).
    pub database: Option<String>,
    /// The login the head uses (`USER`, `PASSWORD` options).
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the password.
        write!(f, "Node({} = {}@{}:{})", self.name, self.user, self.host, self.port)
    }
}

impl Node {
    /// The URL of `database` on this node, with the head's login for it.
    pub fn url(&self, database: &str) -> DbUrl {
        DbUrl::Mysql(ServerUrl {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            password: Some(self.password.clone()).filter(|p| !p.is_empty()),
            database: Some(database.to_string()),
            socket: None,
            tls: Default::default(),
            connect_timeout: None,
        })
    }
}

/// Where a Spider link points: the servers and the table on them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The servers (`srv "a b"`: several are Spider's multiple links, each holds a copy).
    pub servers: Vec<String>,
    /// The database on the node (`database "..."`, else the server's, else the head's).
    pub database: String,
    /// The table on the node (`table "..."`, else the head table's name).
    pub table: String,
}

/// How a sharded table's rows are spread: MariaDB's partitioning method and
/// expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharding {
    /// `HASH`, `LINEAR HASH`, `KEY`, `LINEAR KEY`, `RANGE`, `RANGE COLUMNS`, `LIST`,
    /// `LIST COLUMNS`, as information_schema spells it.
    pub method: String,
    /// The partitioning expression with each column replaced by `?` (`?` for
    /// `HASH (id)`, `? DIV 10` for `HASH (id DIV 10)`, `?,?` for `KEY (a, b)`).
    pub template: String,
    /// The columns of the expression, in order of appearance.
    pub columns: Vec<String>,
    /// One per partition, in partition order.
    pub partitions: Vec<PartitionLink>,
}

/// One partition of a sharded table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLink {
    pub name: String,
    /// `RANGE`/`LIST` bound (`100`, `MAXVALUE`, `1,2,3`); `None` for HASH and KEY.
    pub bound: Option<String>,
    pub link: Link,
}

/// Where a table's rows live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// An ordinary table of the head (not Spider): unsharded.
    Plain,
    /// A Spider table without partitions: all rows on each of `link.servers` (one
    /// server: a table that lives on one node; several: a copy on each).
    Linked(Link),
    /// A partitioned Spider table.
    Sharded(Sharding),
}

/// One table of the head database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLayout {
    pub name: String,
    pub placement: Placement,
}

/// The layout of one head database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub database: String,
    /// Every server the head knows, by name.
    pub nodes: Vec<Node>,
    /// By name.
    pub tables: Vec<TableLayout>,
}

impl Layout {
    pub fn table(&self, name: &str) -> Option<&TableLayout> {
        self.tables.iter().find(|t| t.name == name)
    }

    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

impl TableLayout {
    /// Every node holding rows of the table (none for a plain one), in first-use order.
    pub fn nodes(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let links: Vec<&Link> = match &self.placement {
            Placement::Plain => Vec::new(),
            Placement::Linked(l) => vec![l],
            Placement::Sharded(s) => s.partitions.iter().map(|p| &p.link).collect(),
        };
        for l in links {
            for s in &l.servers {
                if !out.contains(&s.as_str()) {
                    out.push(s);
                }
            }
        }
        out
    }
}

impl fmt::Display for Placement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Placement::Plain => f.write_str("plain (on the head)"),
            Placement::Linked(l) if l.servers.len() == 1 => write!(f, "on {}", l.servers[0]),
            Placement::Linked(l) => write!(f, "copied to {}", l.servers.join(", ")),
            Placement::Sharded(s) => {
                let mut expr = s.template.clone();
                for c in &s.columns {
                    expr = expr.replacen('?', c, 1);
                }
                write!(f, "sharded by {} ({expr}):", s.method)?;
                for p in &s.partitions {
                    write!(f, " {}", p.name)?;
                    if let Some(b) = &p.bound {
                        write!(f, " < {b}")?;
                    }
                    write!(f, " on {};", p.link.servers.join("+"))?;
                }
                Ok(())
            }
        }
    }
}

/// Reads the layout of the database the URL names, on the head it points to.
pub async fn read(url: &DbUrl) -> Result<Layout, LayoutError> {
    let database = match url {
        DbUrl::Mysql(s) => s.database.clone().filter(|d| !d.is_empty()),
        _ => None,
    }
    .ok_or(LayoutError::NoDatabase)?;
    let mut backend = Backend::new(url.clone(), false);
    let layout = read_with(&mut backend, &database).await;
    backend.disconnect().await;
    layout
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        other => Some(other.text()),
    }
}

async fn rows(backend: &mut Backend, context: &str, sql: &str) -> Result<Vec<Vec<Option<String>>>, LayoutError> {
    let read = backend.read(sql).await.map_err(|e: ServerError| LayoutError::Read {
        context: context.to_string(),
        code: e.code,
        state: e.state,
        message: e.message,
    })?;
    Ok(read.rows.iter().map(|r| r.iter().map(text).collect()).collect())
}

/// Reads the layout of `database` through a connection to the head.
pub(crate) async fn read_with(backend: &mut Backend, database: &str) -> Result<Layout, LayoutError> {
    let db = sql::text(Engine::Mysql, database);
    let nodes = rows(
        backend,
        "mysql.servers",
        "SELECT Server_name, Host, Port, Db, Username, Password FROM mysql.servers ORDER BY Server_name",
    )
    .await?
    .into_iter()
    .map(|r| Node {
        name: r[0].clone().unwrap_or_default(),
        host: r[1].clone().unwrap_or_default(),
        port: r[2].as_deref().and_then(|p| p.parse().ok()).unwrap_or(3306),
        database: r[3].clone().filter(|d| !d.is_empty()),
        user: r[4].clone().unwrap_or_default(),
        password: r[5].clone().unwrap_or_default(),
    })
    .collect::<Vec<_>>();
    let tables = rows(
        backend,
        "information_schema.TABLES",
        &format!(
            "SELECT TABLE_NAME, ENGINE, TABLE_COMMENT FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = {db} AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME"
        ),
    )
    .await?;
    let mut partitions: BTreeMap<String, Vec<Vec<Option<String>>>> = BTreeMap::new();
    for r in rows(
        backend,
        "information_schema.PARTITIONS",
        &format!(
            "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION, PARTITION_DESCRIPTION, \
             PARTITION_COMMENT, SUBPARTITION_NAME FROM information_schema.PARTITIONS \
             WHERE TABLE_SCHEMA = {db} AND PARTITION_NAME IS NOT NULL \
             ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION"
        ),
    )
    .await?
    {
        partitions.entry(r[0].clone().unwrap_or_default()).or_default().push(r);
    }

    let mut out = Vec::new();
    for t in tables {
        let name = t[0].clone().unwrap_or_default();
        let is_spider = t[1].as_deref().is_some_and(|e| e.eq_ignore_ascii_case("SPIDER"));
        if !is_spider {
            out.push(TableLayout {
                name,
                placement: Placement::Plain,
            });
            continue;
        }
        let fail = |message: String| LayoutError::Table {
            table: name.clone(),
            message,
        };
        // The table-level CONNECTION string is only in SHOW CREATE TABLE.
        let create = rows(
            backend,
            &format!("SHOW CREATE TABLE {name}"),
            &format!(
                "SHOW CREATE TABLE {}.{}",
                sql::ident(Engine::Mysql, database),
                sql::ident(Engine::Mysql, &name)
            ),
        )
        .await?;
        let create = create
            .first()
            .and_then(|r| r.get(1).cloned().flatten())
            .unwrap_or_default();
        let mut table_params = params(connection_string(&create).as_deref().unwrap_or("")).map_err(&fail)?;
        // COMMENT after CONNECTION: a parameter in both is the comment's.
        table_params.extend(params(t[2].as_deref().unwrap_or("")).map_err(&fail)?);
        let defaults = LinkDefaults {
            head_database: database,
            head_table: &name,
            nodes: &nodes,
        };
        let placement = match partitions.get(&name) {
            None => Placement::Linked(defaults.link(&table_params).map_err(&fail)?),
            Some(parts) => {
                if parts.iter().any(|p| p[6].is_some()) {
                    return Err(fail("subpartitions are not supported in a sharded keyspace".into()));
                }
                let method = parts[0][2].clone().unwrap_or_default();
                let (template, columns) = expression_template(parts[0][3].as_deref().unwrap_or(""));
                let mut links = Vec::new();
                for p in parts {
                    let mut ps = table_params.clone();
                    ps.extend(params(p[5].as_deref().unwrap_or("")).map_err(&fail)?);
                    links.push(PartitionLink {
                        name: p[1].clone().unwrap_or_default(),
                        bound: p[4].clone(),
                        link: defaults.link(&ps).map_err(&fail)?,
                    });
                }
                Placement::Sharded(Sharding {
                    method,
                    template,
                    columns,
                    partitions: links,
                })
            }
        };
        out.push(TableLayout { name, placement });
    }
    Ok(Layout {
        database: database.to_string(),
        nodes,
        tables: out,
    })
}

struct LinkDefaults<'a> {
    head_database: &'a str,
    head_table: &'a str,
    nodes: &'a [Node],
}

impl LinkDefaults<'_> {
    /// The link Spider parameters describe; only links through servers the head knows.
    fn link(&self, params: &BTreeMap<String, String>) -> Result<Link, String> {
        let servers: Vec<String> = params
            .get("server")
            .map(|s| s.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        if servers.is_empty() {
            return Err("a Spider link without `srv` (host/port links are not supported: use CREATE SERVER)".into());
        }
        for s in &servers {
            if !self.nodes.iter().any(|n| &n.name == s) {
                return Err(format!("server `{s}` is not in mysql.servers"));
            }
        }
        // Several databases or tables for several links are not supported: one name.
        let database = match params.get("database") {
            Some(d) => d.clone(),
            None => {
                let own: Vec<&str> = servers
                    .iter()
                    .filter_map(|s| self.nodes.iter().find(|n| &n.name == s))
                    .filter_map(|n| n.database.as_deref())
                    .collect();
                own.first().copied().unwrap_or(self.head_database).to_string()
            }
        };
        Ok(Link {
            servers,
            database,
            table: params
                .get("table")
                .cloned()
                .unwrap_or_else(|| self.head_table.to_string()),
        })
    }
}

/// The `CONNECTION='...'` string of a `SHOW CREATE TABLE` text, unescaped.
pub fn connection_string(create: &str) -> Option<String> {
    let at = create.find(" CONNECTION='")?;
    let rest = &create[at + " CONNECTION='".len()..];
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            '\'' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

/// Spider's connection parameters (`wrapper "mysql", srv "node1", table "t"`), by
/// canonical name (`server`, `table`, `database`, ...); short names mapped.
pub fn params(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .ok_or_else(|| format!("Spider parameter `{rest}` has no value"))?;
        let key = rest[..key_end].to_ascii_lowercase();
        rest = rest[key_end..].trim_start();
        let quote = rest
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .ok_or_else(|| format!("Spider parameter `{key}`: the value is not quoted"))?;
        let close = rest[1..]
            .find(quote)
            .ok_or_else(|| format!("Spider parameter `{key}`: unterminated value"))?;
        let value = rest[1..1 + close].to_string();
        rest = rest[close + 2..].trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        let canonical = match key.as_str() {
            "srv" | "server" => "server",
            "tbl" | "table" => "table",
            "database" | "db" => "database",
            other => other,
        };
        out.insert(canonical.to_string(), value);
    }
    Ok(out)
}

/// A partitioning expression as information_schema gives it (`` `a`,`b` ``,
/// `` `id` DIV 10 ``): the text with each backquoted column replaced by `?`, and the
/// columns in order.
pub fn expression_template(expression: &str) -> (String, Vec<String>) {
    let mut template = String::new();
    let mut columns = Vec::new();
    let mut chars = expression.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '`' {
            if !c.is_whitespace() {
                template.push(c);
            } else if !template.ends_with(' ') {
                template.push(' ');
            }
            continue;
        }
        let mut name = String::new();
        while let Some(d) = chars.next() {
            if d == '`' {
                if chars.peek() == Some(&'`') {
                    chars.next();
                    name.push('`');
                    continue;
                }
                break;
            }
            name.push(d);
        }
        columns.push(name);
        template.push('?');
    }
    (template.trim().to_string(), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spider_parameters_with_short_and_long_names() {
        let p = params(r#"wrapper "mysql", srv "node1 node2", tbl 't1', database "shop""#).unwrap();
        assert_eq!(p["wrapper"], "mysql");
        assert_eq!(p["server"], "node1 node2");
        assert_eq!(p["table"], "t1");
        assert_eq!(p["database"], "shop");
        assert_eq!(params("  ").unwrap(), BTreeMap::new());
        assert_eq!(
            params(r#"srv node1"#).unwrap_err(),
            "Spider parameter `srv`: the value is not quoted"
        );
        assert_eq!(
            params(r#"srv "node1"#).unwrap_err(),
            "Spider parameter `srv`: unterminated value"
        );
    }

    #[test]
    fn expressions_become_templates_and_columns() {
        assert_eq!(expression_template("`id`"), ("?".into(), vec!["id".into()]));
        assert_eq!(
            expression_template("`a`,`b`"),
            ("?,?".into(), vec!["a".into(), "b".into()])
        );
        assert_eq!(
            expression_template("`id`  DIV 10"),
            ("? DIV 10".into(), vec!["id".into()])
        );
        assert_eq!(expression_template("`a``b`"), ("?".into(), vec!["a`b".into()]));
    }

    #[test]
    fn the_connection_string_of_show_create_table() {
        let create = "CREATE TABLE `t` (\n  `id` int(11) NOT NULL\n) ENGINE=SPIDER DEFAULT CHARSET=utf8mb4 \
                      CONNECTION='srv \"node1\", table \"it''s\"' COMMENT='x'";
        assert_eq!(
            connection_string(create).as_deref(),
            Some("srv \"node1\", table \"it's\"")
        );
        assert_eq!(connection_string("CREATE TABLE `t` (`id` int) ENGINE=InnoDB"), None);
    }
}
