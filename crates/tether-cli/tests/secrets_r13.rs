//! The thirteenth review's findings on the CLI, the job file and `tether ui`:
//! passwords and seeds never printed, a subset `where` never carrying a statement,
//! a closed stdout, Mermaid names, conflicting job entries, inline `transform` edits.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

use tether_testkit::{ScratchDir, TestDb, TestEngine as Engine};

fn tether_env(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether"))
        .args(args)
        .current_dir(cwd)
        .envs(env.iter().copied())
        .env_remove("PGPASSWORD")
        .env_remove("MYSQL_PWD")
        .output()
        .expect("run tether");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tether(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    tether_env(cwd, args, &[])
}

fn scratch(name: &str) -> ScratchDir {
    ScratchDir::new(&format!("cli_r13_{name}"))
}

/// `host:port` of a test server's admin URL.
fn host_port(url: &str) -> String {
    let after = &url[url.find("://").expect("scheme") + 3..];
    let after = &after[after.rfind('@').map_or(0, |i| i + 1)..];
    after.split('/').next().expect("authority").to_string()
}

/// A password pasted into a URL without percent-encoding (`?`, `/`, `#` in it) is
/// refused with the URL shown masked, and the message never quotes any part of it:
/// on the command line, in a job's `source`/destination, in the gateway's config.
#[test]
fn an_unencoded_password_is_never_printed() {
    let dir = scratch("unencoded");
    let hunted = ["pa?ss", "5432?zz", "my?pw", "Hun?ter2pw", "a/b9", "x#yz"];
    let urls = [
        "postgres://u:pa?ss@127.0.0.1/d",
        "postgres://u:5432?zz@127.0.0.1/d",
        "mysql://root:my?pw@127.0.0.1/r13d_src",
        "postgres://u:a/b9@127.0.0.1/d",
        "postgres://u:5432/zz@127.0.0.1/d",
        "postgres://u:1#x#yz@127.0.0.1/d",
    ];
    let no_secret = |text: &str| {
        for h in hunted.iter().chain(&["ss@", "zz@", "pw@", "2pw", "b9@", "yz@"]) {
            assert!(!text.contains(h), "`{h}` printed: {text}");
        }
    };
    for url in urls {
        let (code, out, err) = tether(&dir, &["schema", url]);
        assert_eq!(code, 2, "{url}: {out}{err}");
        no_secret(&err);
        assert!(err.contains(":***@127.0.0.1"), "{url}: {err}");
        assert!(err.contains("percent-encode it"), "{url}: {err}");
        std::fs::write(
            dir.join("job.toml"),
            format!("source = \"{url}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"{url}\"\n"),
        )
        .expect("job");
        let (code, out, err) = tether(&dir, &["plan", "job.toml"]);
        assert_eq!(code, 2, "{url}: {out}{err}");
        no_secret(&err);
    }
    std::fs::write(
        dir.join("gw.json"),
        r#"{"users": [{"user": "app", "password": "x"}], "keyspaces": {"shop": {"foreignKeyMode": "managed", "backend": {"url": "mysql://r13d_u:Hun?ter2pw@127.0.0.1:3306/r13d_src"}}}}"#,
    )
    .expect("config");
    let (code, _, err) = tether(&dir, &["gateway", "--config", "gw.json", "--port", "0"]);
    assert_eq!(code, 2, "{err}");
    no_secret(&err);
    assert!(err.contains("mysql://r13d_u:***@127.0.0.1:3306/r13d_src"), "{err}");
}

/// `${VAR}` in a URL's password is substituted percent-encoded: a password holding
/// `?`, `/`, `#` or `%41` logs in as itself (`%41` is not read as `A`), on both servers.
#[test]
fn an_environment_password_is_used_exactly_as_set() {
    let dir = scratch("env_password");
    let password = "x7?Qm/9%41z#@:";
    let my = TestDb::create(Engine::Mysql);
    let pg = TestDb::create(Engine::Postgres);
    let user = format!("r13d1_{}", std::process::id());
    my.exec(&format!(
        "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY '{password}';
         GRANT ALL ON {}.* TO '{user}'@'%';
         CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2);",
        my.name
    ));
    pg.exec(&format!(
        "DROP ROLE IF EXISTS {user}; CREATE ROLE {user} LOGIN PASSWORD '{password}';
         CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2); GRANT SELECT ON t TO {user};"
    ));
    let cases = [
        (
            "mysql",
            format!("mysql://{user}:${{R13_PW}}@{}/{}", host_port(&my.url), my.name),
        ),
        (
            "postgres",
            format!("postgres://{user}:${{R13_PW}}@{}/{}", host_port(&pg.url), pg.name),
        ),
        (
            "postgres (password=)",
            format!(
                "postgres://{user}@{}/{}?password=${{R13_PW}}",
                host_port(&pg.url),
                pg.name
            ),
        ),
    ];
    for (what, source) in &cases {
        std::fs::write(
            dir.join("job.toml"),
            format!(
                "source = \"{source}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://out.sqlite\"\ntruncate = true\n"
            ),
        )
        .expect("job");
        let (code, out, err) = tether_env(&dir, &["sync", "job.toml"], &[("R13_PW", password)]);
        assert_eq!(code, 0, "{what}: {out}{err}");
        assert!(!out.contains("x7") && !err.contains("x7"), "{what}: {out}{err}");
        let rows: i64 = rusqlite::Connection::open(dir.join("out.sqlite"))
            .expect("open")
            .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .expect("count");
        assert_eq!(rows, 2, "{what}");
    }
    // A wrong password: refused by the server (MariaDB checks it; the test PostgreSQL
    // may trust local logins), the value not printed.
    std::fs::write(
        dir.join("job.toml"),
        format!(
            "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://out.sqlite\"\n",
            cases[0].1
        ),
    )
    .expect("job");
    let (code, out, err) = tether_env(&dir, &["plan", "job.toml"], &[("R13_PW", "no?t/it%41")]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(!err.contains("no?t") && !err.contains("it%41"), "{err}");
    my.exec(&format!("DROP USER '{user}'@'%'"));
    drop(pg);
    tether_testkit::exec_url(
        Engine::Postgres,
        &tether_testkit::pg_admin_url(),
        &format!("DROP ROLE IF EXISTS {user}"),
    );
}

/// A type error in the job file names the key and line, never the value (a
/// destination's URL with its password, the seed) nor a Rust type name; the gateway's
/// config does not print a user's password either.
#[test]
fn type_errors_name_the_key_not_the_value() {
    let dir = scratch("type_errors");
    std::fs::write(
        dir.join("j1.toml"),
        "source = \"mysql://root:Hunter2pw@127.0.0.1/r13d_src\"\ndestinations = [\"postgres://app:Hunter2pw@127.0.0.1/r13d_dst\"]\n",
    )
    .expect("job");
    std::fs::write(
        dir.join("j3.toml"),
        "source = \"mysql://root@127.0.0.1/r13d_src\"\nseed = 12345678\n[[destinations]]\nurl = \"sqlite://x.sqlite\"\n",
    )
    .expect("job");
    for cmd in ["plan", "sync", "scan"] {
        let (code, _, err) = tether(&dir, &[cmd, "j1.toml"]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert_eq!(
            err.trim(),
            "error: j1.toml: line 2: `destinations`: invalid type: string, expected a table",
            "{cmd}"
        );
        let (code, _, err) = tether(&dir, &[cmd, "j3.toml"]);
        assert_eq!(code, 2, "{cmd}: {err}");
        assert_eq!(
            err.trim(),
            "error: j3.toml: line 2: `seed`: invalid type: integer, expected a string",
            "{cmd}"
        );
    }
    std::fs::write(
        dir.join("gw4.json"),
        r#"{"users": [{"user": "app", "password": 12345}], "keyspaces": {}}"#,
    )
    .expect("config");
    let (code, _, err) = tether(&dir, &["gateway", "--config", "gw4.json", "--port", "0"]);
    assert_eq!(code, 2, "{err}");
    assert!(!err.contains("12345"), "{err}");
    assert!(
        err.contains("invalid type: integer, expected a string at line 1 column 44"),
        "{err}"
    );
}

/// The reviewer's two `where` texts that hid a statement from the old check (a
/// PostgreSQL dollar quote, MariaDB's `--` that needs a space): refused by `plan`,
/// `sync` and `scan`, and nothing runs on the source.
#[test]
fn a_where_never_runs_a_statement_on_the_source() {
    let dir = scratch("where");
    let pg = TestDb::create(Engine::Postgres);
    pg.exec("CREATE TABLE pct (k text PRIMARY KEY); INSERT INTO pct VALUES ('a');");
    let my = TestDb::create(Engine::Mysql);
    my.exec("CREATE TABLE pct (id INT PRIMARY KEY); INSERT INTO pct VALUES (1);");
    let cases = [
        (
            &pg,
            "pg_pwned",
            "\"k = $$'$$) ; create table pg_pwned(x int); select (1 --'\"".to_string(),
        ),
        (
            &my,
            "my_pwned",
            "\"\"\"id = 1 --'\n' ) ; create table my_pwned(x int); select (1 #'\"\"\"".to_string(),
        ),
    ];
    for (db, table, clause) in cases {
        std::fs::write(
            dir.join("inj.toml"),
            format!(
                "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"pct\"]\n[[destinations]]\nurl = \"sqlite://inj.sqlite\"\n[[subset.targets]]\ntable = \"pct\"\nwhere = {clause}\n",
                db.url
            ),
        )
        .expect("job");
        for cmd in ["plan", "sync", "scan"] {
            let (code, out, err) = tether(&dir, &[cmd, "inj.toml"]);
            assert_eq!(code, 2, "{table} {cmd}: {out}{err}");
            assert!(
                err.contains("line 7: target `pct`: `where`: a `)` closes more than the condition opened"),
                "{table} {cmd}: {err}"
            );
        }
        let probe = match db.engine {
            Engine::Postgres => format!("SELECT count(*) FROM pg_tables WHERE tablename = '{table}'"),
            _ => format!(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = '{}' AND table_name = '{table}'",
                db.name
            ),
        };
        assert_eq!(db.query(&probe)[0][0].as_deref(), Some("0"), "{table} was created");
    }
    // Conditions each engine reads as one still run.
    for (db, clause) in [
        (&pg, "k = $$a;)$$ OR k = E'b\\';)' OR k = 'a'"),
        (&my, "id = 1 -- ;)\n OR id = '--;)' OR id = 1 #)"),
    ] {
        std::fs::write(
            dir.join("ok.toml"),
            format!(
                "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"pct\"]\n[[destinations]]\nurl = \"sqlite://ok_{}.sqlite\"\ntruncate = true\n[[subset.targets]]\ntable = \"pct\"\nwhere = '''{clause}'''\n",
                db.url, db.name
            ),
        )
        .expect("job");
        let (code, out, err) = tether(&dir, &["sync", "ok.toml"]);
        assert_eq!(code, 0, "{clause}: {out}{err}");
    }
}

/// Every command whose stdout is closed early (`| head`, `| dot` without Graphviz)
/// exits with its own code, without a panic: 0 for a schema shown, 0 for a sync that
/// copied and verified.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let dir = scratch("epipe");
    let src = dir.join("src.sqlite");
    let c = rusqlite::Connection::open(&src).expect("sqlite");
    c.execute_batch(
        "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p INT REFERENCES p(id));
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1);",
    )
    .expect("schema");
    std::fs::write(
        dir.join("job.toml"),
        "source = \"sqlite://src.sqlite\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://out.sqlite\"\ntruncate = true\n",
    )
    .expect("job");
    let closed = |args: &[&str]| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tether"))
            .args(args)
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        drop(child.stdout.take());
        let mut err = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut err)
            .expect("read");
        (child.wait().expect("wait").code().unwrap_or(-1), err)
    };
    for args in [
        &["schema", "sqlite://src.sqlite"][..],
        &["schema", "sqlite://src.sqlite", "--format", "mermaid"],
        &["plan", "job.toml", "--format", "json"],
        &["sync", "job.toml"],
    ] {
        let (code, err) = closed(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let rows: i64 = rusqlite::Connection::open(dir.join("out.sqlite"))
        .expect("open")
        .query_row("SELECT count(*) FROM c", [], |r| r.get(0))
        .expect("count");
    assert_eq!(rows, 1);
}

/// MariaDB tables `x.y` and `x_y` are two Mermaid entities, each with its own columns (the
/// dotted name is shown quoted, `"x.y"`, since the fifteenth session: entity `_x_y_`).
#[test]
fn mermaid_keeps_tables_with_similar_names_apart() {
    let dir = scratch("mermaid");
    let db = TestDb::create(Engine::Mysql);
    db.exec(
        "CREATE TABLE `x.y` (id INT PRIMARY KEY, `e-mail` VARCHAR(100));
         CREATE TABLE x_y (id INT PRIMARY KEY, secret_col INT, xy INT, FOREIGN KEY (xy) REFERENCES `x.y` (id));",
    );
    let (code, out, err) = tether(&dir, &["schema", &db.url, "--format", "mermaid"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "erDiagram\n  _x_y_ {\n    int id PK\n    varchar_100_ e_mail \n  }\n  x_y {\n    int id PK\n    int secret_col \n    int xy FK\n  }\n  _x_y_ |o--o{ x_y : \"x_y_ibfk_1\"\n"
    );
}

/// Two spellings of one table under `[transform]`, and two `[[subset.relations]]` for
/// one FK, are errors naming both lines, not a silent winner.
#[test]
fn conflicting_entries_name_both_lines() {
    let dir = scratch("conflicts");
    let pg = TestDb::create(Engine::Postgres);
    pg.exec("CREATE TABLE customer (id int PRIMARY KEY, email text);");
    std::fs::write(
        dir.join("dup.toml"),
        format!(
            "source = \"{}\"\nseed = \"s\"\nprivacy = \"off\"\n[tables]\ninclude = [\"customer\"]\n[[destinations]]\nurl = \"sqlite://dup.sqlite\"\ntruncate = true\n[transform.customer]\nemail = \"email\"\n[transform.\"public.customer\"]\nemail = \"null\"\n",
            pg.url
        ),
    )
    .expect("job");
    let (code, out, err) = tether(&dir, &["plan", "dup.toml"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(
        err.trim(),
        "error: dup.toml: line 12: [transform.public.customer] email: [transform.customer] (line 10) names the same table: write its columns under one of them"
    );

    let my = TestDb::create(Engine::Mysql);
    my.exec(
        "CREATE TABLE customer (id INT PRIMARY KEY);
         CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT, CONSTRAINT orders_fk FOREIGN KEY (customer_id) REFERENCES customer (id));",
    );
    std::fs::write(
        dir.join("rel.toml"),
        format!(
            "source = \"{}\"\nprivacy = \"off\"\n[tables]\ninclude = [\"customer\",\"orders\"]\n[[destinations]]\nurl = \"sqlite://rel.sqlite\"\n[[subset.targets]]\ntable = \"customer\"\nwhere = \"id = 1\"\n[[subset.relations]]\nforeign_key = \"orders_fk\"\nfollow_children = false\n[[subset.relations]]\nforeign_key = \"orders_fk\"\nfollow_children = true\nmax_children_per_parent = 1\n",
            my.url
        ),
    )
    .expect("job");
    let (code, out, err) = tether(&dir, &["plan", "rel.toml"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(
        err.trim(),
        "error: rel.toml: line 13: subset relation: foreign key `orders_fk` is already set by the relation on line 10: give one [[subset.relations]] per foreign key"
    );
}

/// A subset target on a table the job's `[tables]` leaves out says so.
#[test]
fn a_target_on_an_excluded_table_says_it_is_excluded() {
    let dir = scratch("excluded_target");
    let my = TestDb::create(Engine::Mysql);
    my.exec("CREATE TABLE customer (id INT PRIMARY KEY); CREATE TABLE orders (id INT PRIMARY KEY);");
    std::fs::write(
        dir.join("c2.toml"),
        format!(
            "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite://c2.sqlite\"\ntruncate = true\n[tables]\ninclude = [\"customer\", \"orders\"]\nexclude = [\"orders\"]\n[[subset.targets]]\ntable = \"orders\"\nlimit = 1\n",
            my.url
        ),
    )
    .expect("job");
    let (code, _, err) = tether(&dir, &["plan", "c2.toml"]);
    assert_eq!(code, 2, "{err}");
    assert_eq!(
        err.trim(),
        "error: c2.toml: line 9: subset target: table `orders` is not among the copied tables (the job's [tables] leaves it out)"
    );
    // A table that does not exist is still named as absent.
    let text = std::fs::read_to_string(dir.join("c2.toml"))
        .expect("job")
        .replace("table = \"orders\"", "table = \"nope\"");
    std::fs::write(dir.join("c2.toml"), text).expect("job");
    let (code, _, err) = tether(&dir, &["plan", "c2.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("table `nope` does not exist in the source"), "{err}");
}

/// A job writing `transform = { ... }` inline: `scan --suggest` and `tether ui` write a
/// transformer on a new table into the inline table (not a table the file never
/// shows), and the plan then sees it.
#[test]
fn inline_transform_tables_take_edits() {
    let dir = scratch("inline");
    let my = TestDb::create(Engine::Mysql);
    my.exec(
        "CREATE TABLE customer (id INT PRIMARY KEY, email VARCHAR(80), name VARCHAR(80));
         CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT REFERENCES customer (id), note TEXT);
         INSERT INTO customer VALUES (1, 'ann@example.com', 'Ann Smith'), (2, 'bob@example.org', 'Bob Jones');
         INSERT INTO orders VALUES (1, 1, 'Please leave the parcel behind the blue gate, thank you very much'),
                                   (2, 2, 'Call me before delivery, the bell is broken since last winter');",
    );
    let job = dir.join("sg.toml");
    let head = format!(
        "source = \"{}\"\nseed = \"s\"\ntransform = {{ customer = {{ email = \"email\" }} }}\n[tables]\ninclude = [\"customer\", \"orders\"]\n[[destinations]]\nurl = \"sqlite://sg.sqlite\"\n",
        my.url
    );
    std::fs::write(&job, &head).expect("job");

    // Through tether ui's mapping: set, save, read back.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut m = rt.block_on(tether_ui::Mapping::open(&job)).expect("open");
    m.set_transformer("orders", "note", Some(("lorem", ""))).expect("set");
    m.save().expect("save");
    let text = std::fs::read_to_string(&job).expect("job");
    assert!(text.contains("orders = { note = \"lorem\" } }"), "{text}");
    let (code, out, err) = tether(&dir, &["plan", "sg.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("note = lorem"), "{out}");

    // Through scan --suggest: what it says it wrote is in the file.
    std::fs::write(&job, &head).expect("job");
    let (code, out, err) = tether(&dir, &["scan", "sg.toml", "--suggest"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&job).expect("job");
    for line in out.lines().filter_map(|l| l.strip_prefix("written to the job: ")) {
        let (column, spec) = line.split_once(" = ").expect("a = b");
        let (table, column) = column.split_once('.').expect("table.column");
        assert!(
            text.contains(&format!("{table} = {{")) && text.contains(&format!("{column} = {spec}")),
            "{line} not in {text}"
        );
    }
    assert!(out.contains("written to the job: orders.note"), "{out}");
    let (code, out, err) = tether(&dir, &["plan", "sg.toml"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("UNPROTECTED orders.note"), "{out}");
}

/// Review r23m F4: a URL given where no argument goes (a second URL to `schema`, an
/// extra one to `plan`) is quoted by the argument parser's error: its password is
/// redacted there, on stderr and in the `--format json` document, and the exit code
/// stays 2.
#[test]
fn an_unexpected_url_argument_is_quoted_without_its_password() {
    let dir = scratch("unexpected_url");
    for args in [
        &["schema", "--format", "json", "x.db", "postgres://app:S3cretPw@db/shop"][..],
        &["plan", "job.toml", "mysql://root:S3cretPw@db/shop"][..],
        &["scan", "x.db", "host=db password=S3cretPw user=u"][..],
    ] {
        let (code, out, err) = tether(dir.path(), args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(
            !out.contains("S3cretPw") && !err.contains("S3cretPw"),
            "{args:?}: {out}{err}"
        );
        assert!(err.contains("unexpected argument"), "{args:?}: {err}");
        assert!(err.contains("***"), "{args:?}: {err}");
    }
}
