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
        let last = err.lines().last().map(|l| format!("{l}\n")).unwrap_or_default();
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
        let last = err.lines().last().map(|l| format!("{l}\n")).unwrap_or_default();
        assert_eq!(last, expected, "{name}: {err}");
    }
}
