//! Fifteenth review, H: secrets in URL parameters never echoed (r15h H3), keys a
//! transformer cannot keep unique refused by the plan and the page (H4), `scan
//! --suggest` and JSON columns (H5), config errors naming their line (H6). Each replays
//! the reviewer's scenario with the real binary and servers.

use std::path::Path;
use std::process::Command;

use tether_testkit::{ScratchDir, TestDb, TestEngine as Engine};

fn tether(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .current_dir(cwd)
        .env_remove("PGPASSWORD")
        .env_remove("MYSQL_PWD")
        .env("TETHER_LOG", "trace")
        .output()
        .expect("run tether");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The last `error: ` line of stderr (TETHER_LOG=trace writes log lines too), with
/// its newline.
fn error_line(err: &str) -> String {
    err.lines()
        .rfind(|l| l.starts_with("error: "))
        .map(|l| format!("{l}\n"))
        .unwrap_or_default()
}

fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("cli_r15_{name}"))
}

/// r15h H3: libpq's `sslpassword` (a client key's passphrase) was printed in clear in
/// the error; every parameter value Tether does not know to be harmless is masked now,
/// and a bare word after `?` too.
#[test]
fn url_parameters_that_may_hold_a_secret_are_never_echoed() {
    let dir = scratch("sslpassword");
    let cases = [
        (
            "postgres://r15h_u:HUNTER2@127.0.0.1:34801/r15h_src?sslpassword=HUNTER2",
            "error: invalid database URL `postgres://r15h_u:***@127.0.0.1:34801/r15h_src?sslpassword=***`: unknown \
             URL parameter `sslpassword`: an encrypted client key is not supported (give `sslkey` an unencrypted \
             key file)\n",
        ),
        (
            "postgres://r15h_u@127.0.0.1:34801/r15h_src?sslmode=require&passfile=HUNTER2",
            "error: invalid database URL `postgres://r15h_u@127.0.0.1:34801/r15h_src?sslmode=require&passfile=***`: \
             unknown URL parameter `passfile`\n",
        ),
        (
            "mysql://r15h_u@127.0.0.1:3306/r15h_src?ssl-mode=REQUIRED&pwd=HUNTER2",
            "error: invalid database URL `mysql://r15h_u@127.0.0.1:3306/r15h_src?ssl-mode=REQUIRED&pwd=***`: unknown \
             URL parameter `pwd`\n",
        ),
        (
            "postgres://r15h_u@127.0.0.1:34801/r15h_src?HUNTER2",
            "error: invalid database URL `postgres://r15h_u@127.0.0.1:34801/r15h_src?***`: a URL parameter without \
             `=value` (shown as ***)\n",
        ),
    ];
    for (url, expected) in cases {
        let (code, out, err) = tether(dir.path(), &["schema", url]);
        assert_eq!((code, out.as_str()), (2, ""), "{url}: {err}");
        let last = error_line(&err);
        assert_eq!(last, expected, "{url}");
        assert!(!err.contains("HUNTER2"), "{url}: {err}");
    }
}

/// r15h H6: a `[tables]` name missing from the source and a zero in `[options]` were
/// reported without their line (and the second without saying which of the two was 0).
#[test]
fn a_missing_include_table_and_a_zero_option_name_their_line() {
    let dir = scratch("lines");
    let src = TestDb::create(Engine::Sqlite);
    src.exec("CREATE TABLE person (id integer primary key, name text);");
    let head = format!(
        "source = \"{}\"\nseed = \"s\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://{}/dstx.sqlite\"\ntruncate = true\n",
        src.url,
        dir.path().display()
    );
    let cases = [
        (
            "bad_incl.toml",
            "[tables]\ninclude = [\"person\",\n  \"persn\"]\n",
            "error: bad_incl.toml: line 9: [tables]: table `persn` does not exist in the source\n",
        ),
        (
            "bad_excl.toml",
            "[tables]\nexclude = [\"nope\"]\n",
            "error: bad_excl.toml: line 8: [tables]: table `nope` does not exist in the source\n",
        ),
        (
            "bad_opt.toml",
            "[options]\nparallelism = 2\nbatch_size = 0\n",
            "error: bad_opt.toml: line 9: options.batch_size = 0: it must be at least 1\n",
        ),
        (
            "bad_par.toml",
            "[options]\nparallelism = 0\n",
            "error: bad_par.toml: line 8: options.parallelism = 0: it must be at least 1\n",
        ),
    ];
    for (name, tail, expected) in cases {
        std::fs::write(dir.path().join(name), format!("{head}{tail}")).expect("write job");
        let (code, out, err) = tether(dir.path(), &["plan", name]);
        assert_eq!((code, out.as_str()), (2, ""), "{name}: {err}");
        let last = error_line(&err);
        assert_eq!(last, expected, "{name}: {err}");
    }
}

/// The reviewer's `person` (60 rows, `orders` referencing it) on MariaDB, and a
/// `member` with a one-column unique key, a two-column one and a nullable unique one.
fn keyed_source() -> TestDb {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "CREATE TABLE person (id int primary key, name varchar(40)) ENGINE=InnoDB;
         CREATE TABLE orders (id int primary key, person_id int, FOREIGN KEY (person_id) REFERENCES person (id)) \
           ENGINE=InnoDB;
         CREATE TABLE member (id int primary key, code varchar(10) NOT NULL DEFAULT 'x', region varchar(10), \
           nr int, alias varchar(20), UNIQUE KEY member_code (code), UNIQUE KEY member_region_nr (region, nr), \
           UNIQUE KEY member_alias (alias)) ENGINE=InnoDB;
         INSERT INTO person SELECT seq, concat('P', seq) FROM seq_1_to_60;
         INSERT INTO orders SELECT seq, 1 + seq % 60 FROM seq_1_to_100;
         INSERT INTO member SELECT seq, concat('c', seq), 'r', seq, concat('a', seq) FROM seq_1_to_5;",
    );
    src
}

/// r15h H4: `constant` on a primary key passed `tether plan` and `tether ui` and the
/// sync failed on the duplicate; `default` on a one-column unique key the same. Now the
/// plan refuses both, naming the line, table, column and key, and sync and the page
/// with it. A constant on one column of a two-column key and `null` on a nullable unique
/// key (NULLs never collide) stay accepted.
#[test]
fn a_transformer_writing_one_value_on_every_row_of_a_key_is_refused_by_the_plan() {
    let dir = scratch("keys");
    let src = keyed_source();
    let dst = TestDb::create(Engine::Postgres);
    let head = format!(
        "source = \"{}\"\nseed = \"s\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{}\"\ntruncate = true\n",
        src.url, dst.url
    );
    let refused = [
        (
            "k.toml",
            "[transform.person]\nid = { kind = \"constant\", value = 1 }\n",
            "error: k.toml: line 8: [transform.person] id: id = constant(value=1) writes the same value on every \
             row, so primary key (id) of table `person` would hold duplicates from its second row on: give the \
             column a transformer that keeps keys unique (`hash` is a keyed permutation of integers; \
             `email`/`username` with unique = true) or leave it unchanged\n",
        ),
        (
            "u.toml",
            "[transform.member]\ncode = \"default\"\n",
            "error: u.toml: line 8: [transform.member] code: code = default writes the same value on every row, so \
             unique key member_code (code) of table `member` would hold duplicates from its second row on: give the \
             column a transformer that keeps keys unique (`hash` is a keyed permutation of integers; \
             `email`/`username` with unique = true) or leave it unchanged\n",
        ),
        (
            "c.toml",
            "[transform.member]\nregion = { kind = \"constant\", value = \"r\" }\nnr = { kind = \"constant\", value \
             = 7 }\n",
            "error: c.toml: line 8: [transform.member] region: region = constant(value=\"r\"), nr = \
             constant(value=7) writes the same value on every row, so unique key member_region_nr (region, nr) of \
             table `member` would hold duplicates from its second row on: give one of its columns a transformer \
             that keeps keys unique (`hash` is a keyed permutation of integers; `email`/`username` with unique = \
             true) or leave them unchanged\n",
        ),
    ];
    for (name, tail, expected) in refused {
        std::fs::write(dir.path().join(name), format!("{head}{tail}")).expect("write job");
        for command in ["plan", "sync"] {
            let (code, out, err) = tether(dir.path(), &[command, name]);
            assert_eq!((code, out.as_str()), (2, ""), "{command} {name}: {err}");
            let last = error_line(&err);
            assert_eq!(last, expected, "{command} {name}");
        }
    }
    // Nothing was written.
    assert_eq!(
        dst.query("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"),
        [[Some("0".to_string())]]
    );

    // Accepted: a constant on one column of (region, nr), NULL on the nullable alias.
    std::fs::write(
        dir.path().join("ok.toml"),
        format!("{head}[transform.member]\nregion = {{ kind = \"constant\", value = \"z\" }}\nalias = \"null\"\n"),
    )
    .expect("write job");
    let (code, _, err) = tether(dir.path(), &["sync", "ok.toml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        dst.query("SELECT count(*), count(DISTINCT region), count(alias) FROM member"),
        [[Some("5".to_string()), Some("1".to_string()), Some("0".to_string())]]
    );

    // The page refuses the same change with the planner's message (no path, no line).
    std::fs::write(dir.path().join("ui.toml"), head.clone()).expect("write job");
    let mut mapping =
        tether_testkit::block_on(tether_ui::Mapping::open(&dir.path().join("ui.toml"))).expect("the page opens");
    let err = mapping
        .set_transformer("person", "id", Some(("constant", "value = 1")))
        .expect_err("refused");
    assert_eq!(
        err,
        "[transform.person] id: id = constant(value=1) writes the same value on every row, so primary key (id) of \
         table `person` would hold duplicates from its second row on: give the column a transformer that keeps \
         keys unique (`hash` is a keyed permutation of integers; `email`/`username` with unique = true) or leave \
         it unchanged"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("ui.toml")).expect("read"),
        head,
        "the file is unchanged"
    );
}

const PROFILE: &str =
    r#"{"contact":{"email":"alice.smith1@example.org","phone":"+44 20 7946 1001"},"name":"Alice Smith"}"#;

/// r15h H5: `scan --suggest` wrote `lorem` for a MariaDB JSON column (a `longtext`
/// with CHECK json_valid) and the next sync failed on the CHECK; PostgreSQL `jsonb`
/// and SQLite `json` holding the same documents were not flagged at all. Now all three
/// are free text found inside the documents, and the suggestion stays JSON: `null` on a
/// nullable column, `{ kind = "constant", value = "{}" }` on a NOT NULL one.
#[test]
fn json_columns_are_classified_alike_and_get_a_suggestion_that_stays_json() {
    let dir = scratch("json");
    let src = TestDb::create(Engine::Mysql);
    src.exec(&format!(
        "CREATE TABLE person (id int primary key, label varchar(40), profile JSON, settings JSON NOT NULL, \
           remark varchar(200), CONSTRAINT remark_form CHECK (remark LIKE 'Note:%')) ENGINE=InnoDB;
         INSERT INTO person SELECT seq, concat('P', seq), replace('{PROFILE}', 'smith1', concat('smith', seq)), \
           replace('{PROFILE}', 'smith1', concat('s', seq)), concat('Note: write to p', seq, '@mail.example.org') \
           FROM seq_1_to_5;"
    ));
    let dst = TestDb::create(Engine::Mysql);
    let job = format!(
        "source = \"{}\"\nseed = \"s\"\n[[destinations]]\nurl = \"{}\"\ntruncate = true\n",
        src.url, dst.url
    );
    std::fs::write(dir.path().join("my2.toml"), &job).expect("write job");
    let (code, out, err) = tether(dir.path(), &["scan", "my2.toml", "--suggest"]);
    assert_eq!(code, 0, "{err}");
    // A CHECK reading a column the scan cannot evaluate: no suggestion written, a note.
    assert!(
        err.contains(
            "not suggested for person.remark: CHECK remark_form reads the column and the values of \"lorem\" may \
             not pass it: choose a transformer whose values do, or mark it reviewed\n"
        ),
        "{err}"
    );
    assert!(
        out.ends_with(
            "written to the job: person.profile = \"null\"\nwritten to the job: person.settings = { kind = \
             \"constant\", value = \"{}\" }\n"
        ),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("my2.toml")).expect("read job"),
        format!(
            "{job}\n[transform.person]\nprofile = \"null\"\nsettings = {{ kind = \"constant\", value = \"{{}}\" }}\n"
        )
    );
    let (code, _, err) = tether(dir.path(), &["sync", "my2.toml"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        dst.query("SELECT count(*), count(profile), min(settings), max(settings) FROM person"),
        [[
            Some("5".to_string()),
            Some("0".to_string()),
            Some("{}".to_string()),
            Some("{}".to_string())
        ]]
    );

    // The same documents in PostgreSQL json/jsonb and SQLite json: the same class.
    let pg = TestDb::create(Engine::Postgres);
    pg.exec(&format!(
        "CREATE TABLE person (id int primary key, profile jsonb, p2 json NOT NULL);
         INSERT INTO person SELECT i, replace('{PROFILE}', 'smith1', 'smith' || i)::jsonb, \
           replace('{PROFILE}', 'smith1', 's' || i)::json FROM generate_series(1, 5) i;"
    ));
    let lite = TestDb::create(Engine::Sqlite);
    lite.exec(&format!(
        "CREATE TABLE person (id integer primary key, profile json);
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 5) \
           INSERT INTO person SELECT i, replace('{PROFILE}', 'smith1', 'smith' || i) FROM s;"
    ));
    let classes = |url: &str| -> Vec<(String, String, String)> {
        let (code, out, err) = tether(dir.path(), &["scan", url, "--format", "json"]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        v["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .filter(|c| !c["class"].is_null())
            .map(|c| {
                (
                    c["column"].as_str().unwrap_or_default().to_string(),
                    c["class"].as_str().unwrap_or_default().to_string(),
                    c["suggested"]["kind"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let free = |column: &str, kind: &str| (column.to_string(), "free_text".to_string(), kind.to_string());
    assert_eq!(
        classes(&src.url),
        [
            free("profile", "null"),
            free("settings", "constant"),
            free("remark", "lorem")
        ]
    );
    assert_eq!(classes(&pg.url), [free("profile", "null"), free("p2", "constant")]);
    assert_eq!(classes(&lite.url), [free("profile", "null")]);
}
