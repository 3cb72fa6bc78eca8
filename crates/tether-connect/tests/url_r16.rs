//! Sixteenth review X, R4: a connection string that did not parse is echoed through
//! one redaction whatever its spelling: a URL missing its `//` or its scheme, a libpq
//! keyword string, `;`-separated keywords. No password reaches the message.

use tether_connect::url::{redact, DbUrl};

const SECRET: &str = "Sup3rSecret";

#[test]
fn every_spelling_is_echoed_without_its_password() {
    let cases = [
        // Well-formed: as before.
        ("postgres://app:Sup3rSecret@db/x", "postgres://app:***@db/x"),
        ("oracle://scott:Sup3rSecret@db/x", "oracle://scott:***@db/x"),
        (
            "postgres://app@db/x?password=Sup3rSecret",
            "postgres://app@db/x?password=***",
        ),
        // A scheme missing its `//`, or one of them.
        (
            "postgresql:/app:Sup3rSecret@127.0.0.1:5432/db",
            "postgresql:/app:***@127.0.0.1:5432/db",
        ),
        (
            "mysql:root:Sup3rSecret@127.0.0.1:3306/db",
            "mysql:root:***@127.0.0.1:3306/db",
        ),
        ("mysql:root:Sup3rSecret", "mysql:root:***"),
        // `//` but no `@` (review K): a password where the port would be is masked;
        // a real port, an IPv6 host and no port are shown.
        ("mysql://root:Sup3rSecret", "mysql://root:***"),
        (
            "postgres://app:Sup3rSecret/db?sslmode=require",
            "postgres://app:***/db?sslmode=require",
        ),
        ("mysql://127.0.0.1:3306/db", "mysql://127.0.0.1:3306/db"),
        ("postgres://[::1]:5432/db", "postgres://[::1]:5432/db"),
        ("postgres://db/x", "postgres://db/x"),
        ("mariadb:root:pa://Sup3rSecret@h/db", "mariadb:root:***@h/db"),
        // No scheme at all.
        ("app:Sup3rSecret@db/x", "app:***@db/x"),
        ("Sup3rSecret@db/x", "***@db/x"),
        // libpq keyword strings, quoted values, `;` separators, a stray word.
        (
            "host=127.0.0.1 user=app password=Sup3rSecret dbname=db",
            "host=127.0.0.1 user=app password=*** dbname=db",
        ),
        (
            "host = h password = 'Sup3r Secret' port=5",
            "host=h password=*** port=5",
        ),
        ("Server=h;Uid=app;Pwd=Sup3rSecret;", "Server=***;Uid=***;Pwd=***;"),
        ("host=h Sup3rSecret", "host=h ***"),
        ("host=h password='Sup3rSecret", "host=h password=***"),
        // A secret word anywhere else.
        ("postgres://h/db password=Sup3rSecret", "postgres://h/db password=***"),
        ("pg:/h/db", "pg:***"),
    ];
    for (text, shown) in cases {
        let out = redact(text);
        assert_eq!(out, shown, "{text}");
        assert!(!out.contains(SECRET) && !out.contains("Secret"), "{text}: {out}");
    }
}

/// The parser's own errors go through it: the malformed spellings are refused without
/// the password.
#[test]
fn parse_errors_do_not_echo_the_password() {
    for text in [
        "postgresql:/app:Sup3rSecret@127.0.0.1:5432/db",
        "mysql:root:Sup3rSecret@127.0.0.1:3306/db",
        "host=127.0.0.1 user=app password=Sup3rSecret dbname=db",
        "app:Sup3rSecret@127.0.0.1/db",
    ] {
        let err = DbUrl::parse_with_env(text, |_| None).expect_err(text).to_string();
        assert!(!err.contains(SECRET), "{text}: {err}");
        assert!(err.starts_with("unknown database URL `"), "{text}: {err}");
    }
}
