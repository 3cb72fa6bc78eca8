//! Sixteenth review X, R4: `tether plan`, `sync`, `scan` and `schema` given a
//! connection string that does not parse (a URL missing `//`, a libpq keyword string)
//! say so without its password, for the source and for a destination.

fn tether(args: &[&str]) -> (i32, String, String) {
    tether_testkit::run(env!("CARGO_BIN_EXE_tether"), args)
}

const SPELLINGS: [(&str, &str); 3] = [
    (
        "postgresql:/app:Sup3rSecret@127.0.0.1:5432/r16_db",
        "postgresql:/app:***@127.0.0.1:5432/r16_db",
    ),
    (
        "mysql:root:Sup3rSecret@127.0.0.1:3306/r16_db",
        "mysql:root:***@127.0.0.1:3306/r16_db",
    ),
    (
        "host=127.0.0.1 user=app password=Sup3rSecret dbname=r16_db",
        "host=127.0.0.1 user=app password=*** dbname=r16_db",
    ),
];

fn unknown(shown: &str) -> String {
    format!(
        "error: unknown database URL `{shown}`: expected sqlite://PATH, a .sqlite/.db file, postgres://... or \
         mysql://..."
    )
}

#[test]
fn plan_sync_scan_and_schema_echo_no_password() {
    let dir = tether_testkit::ScratchDir::new("url_r16");
    let out = dir.path().join("out.sqlite");
    for (text, shown) in SPELLINGS {
        let as_source = dir.path().join("source.toml");
        std::fs::write(
            &as_source,
            format!(
                "source = \"{text}\"\n[[destinations]]\nurl = \"sqlite://{}\"\n",
                out.display()
            ),
        )
        .expect("job");
        let as_dest = dir.path().join("dest.toml");
        std::fs::write(
            &as_dest,
            format!(
                "source = \"sqlite://{}\"\n[[destinations]]\nurl = \"{text}\"\n",
                out.display()
            ),
        )
        .expect("job");
        let runs: [Vec<&str>; 6] = [
            vec!["plan", as_source.to_str().unwrap()],
            vec!["sync", as_source.to_str().unwrap()],
            vec!["plan", as_dest.to_str().unwrap()],
            vec!["sync", as_dest.to_str().unwrap()],
            vec!["scan", text],
            vec!["schema", text],
        ];
        for args in runs {
            let (code, stdout, err) = tether(&args);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert!(
                !stdout.contains("Sup3rSecret") && !err.contains("Sup3rSecret"),
                "{args:?}: {err}"
            );
            assert!(err.trim_end().ends_with(&unknown(shown)), "{args:?}: {err}");
        }
    }
}
