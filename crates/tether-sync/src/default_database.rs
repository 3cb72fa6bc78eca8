//! A PostgreSQL URL that names no database (`postgres://app@host:5432`) reaches the
//! database named after its user, as libpq does: for `postgres`, the maintenance
//! database. The plan and the sync say which database such a destination is (review r17
//! c: a sync created its tables in `postgres` without a word). A MariaDB/MySQL URL
//! without a database is refused when the job is read.

use tether_connect::DbUrl;

/// One line for each of the job's destinations whose URL names no database (`urls`: as
/// parsed, `None` where a secret is missing).
pub fn notes(job: &crate::Job, urls: &[Option<DbUrl>]) -> Vec<String> {
    job.destinations
        .iter()
        .zip(urls)
        .enumerate()
        .filter_map(|(i, (spec, url))| note(i + 1, &spec.url, url.as_ref()?))
        .collect()
}

/// The note for destination `number` whose URL, as written, is `written` and parsed is
/// `parsed`, when that URL names no database; None otherwise.
fn note(number: usize, written: &str, parsed: &DbUrl) -> Option<String> {
    let DbUrl::Postgres(server) = parsed else {
        return None;
    };
    // (A database other than the user's name was written, however the text reads.)
    if names_a_database(written) || server.database.as_deref() != Some(server.user.as_str()) {
        return None;
    }
    Some(format!(
        "destination #{number} {parsed}: the URL names no database; PostgreSQL's default, the user's name, is used: \
         database `{}` (write it after the port to choose another)",
        server.database.as_deref().unwrap_or_default()
    ))
}

/// Whether the URL has a path after its authority (`scheme://user@host:port/db`),
/// parameters and fragment left out.
fn names_a_database(written: &str) -> bool {
    let rest = written.split_once("://").map_or(written, |(_, r)| r);
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    rest.split_once('/').is_some_and(|(_, path)| !path.is_empty())
}

#[cfg(test)]
mod tests {
    use super::names_a_database;

    #[test]
    fn a_database_is_named_only_by_a_path_after_the_authority() {
        assert!(names_a_database("postgres://u@h:5432/shop"));
        assert!(names_a_database("postgresql://u@h/shop?sslmode=disable"));
        assert!(!names_a_database("postgres://u@h:5432"));
        assert!(!names_a_database("postgres://u@h:5432/"));
        assert!(!names_a_database("postgres://u@h:5432?sslmode=disable"));
        assert!(!names_a_database("postgresql:///?host=/var/run/postgresql"));
    }
}
