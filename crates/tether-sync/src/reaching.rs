//! PostgreSQL functions a copy carries that connect to a database themselves: a body
//! calling dblink (`dblink_exec('dbname=src ...', ...)`) reaches whatever its connection
//! string names, the source included, once the destination has the dblink extension
//! (review r19 p, F8). Tether cannot tell where a connection string built at run time
//! leads, so the plan and the sync's report say so, naming the function.

use tether_schema::{Engine, Schema};

/// One line for each function of a PostgreSQL source the copy carries whose body calls
/// a dblink function.
pub fn notes(source: &Schema) -> Vec<String> {
    if source.engine != Engine::Postgres {
        return Vec::new();
    }
    source
        .objects
        .functions
        .iter()
        .filter(|f| calls_dblink(&f.definition))
        .map(|f| {
            format!(
                "function {} calls dblink: once the destination has the dblink extension, the copy connects \
                 where its connection string says, which may be the job's source; check that string before \
                 using the copy",
                f.name
            )
        })
        .collect()
}

/// Whether `body` calls `dblink(...)`, `dblink_exec(...)`, `dblink_connect(...)` or
/// another `dblink_*` function (any case, spaces before the parenthesis).
fn calls_dblink(body: &str) -> bool {
    let lower = body.to_ascii_lowercase();
    let b = lower.as_bytes();
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    lower.match_indices("dblink").any(|(i, _)| {
        if i > 0 && word(b[i - 1]) {
            return false;
        }
        let mut j = i + 6;
        while j < b.len() && word(b[j]) {
            j += 1;
        }
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        b.get(j) == Some(&b'(')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dblink_calls_are_seen() {
        assert!(calls_dblink("PERFORM dblink_exec('dbname=src', 'INSERT ...');"));
        assert!(calls_dblink("SELECT * FROM DBLINK ('x', 'y') AS t(a int)"));
        assert!(!calls_dblink("-- mydblink_x( is another function\nSELECT 1"));
    }
}
