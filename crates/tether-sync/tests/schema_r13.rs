//! The schema a copy gets on another engine (the thirteenth review): foreign keys
//! between numbers, dates or times of different types, which MariaDB refuses or never
//! matches; defaults that are no value of their column there (MariaDB's zero date,
//! PostgreSQL's infinity); PostgreSQL 15 decimals of a scale above the precision or
//! below zero; SQLite foreign keys naming a column their parent lacks.

mod common;

use common::*;
use tether_sync::schema_plan::Action;
use tether_testkit::{TestDb, TestEngine as Engine};

fn column_type(maria: &TestDb, table: &str, column: &str) -> String {
    one(
        maria,
        &format!(
            "SELECT column_type FROM information_schema.columns WHERE table_schema = database() \
             AND table_name = '{table}' AND column_name = '{column}'"
        ),
    )
}

// ---- C1: FK columns of different types, MariaDB compares stored forms ---------------

const PG_FKS: &str = "
CREATE TABLE pd (k numeric(10,2) PRIMARY KEY);
CREATE TABLE cd (id int PRIMARY KEY, k numeric(12,2) REFERENCES pd);
INSERT INTO pd VALUES (1.50), (2);
INSERT INTO cd VALUES (1, 1.5), (2, 2);
CREATE TABLE pn (k numeric PRIMARY KEY);
CREATE TABLE cn (id int PRIMARY KEY, k numeric(5,1) REFERENCES pn);
CREATE TABLE gn (id int PRIMARY KEY, k int REFERENCES pn);
INSERT INTO pn VALUES (1.5), (3);
INSERT INTO cn VALUES (1, 1.5);
INSERT INTO gn VALUES (1, 3);
CREATE TABLE day (d timestamp PRIMARY KEY);
CREATE TABLE booking (id int PRIMARY KEY, day date REFERENCES day);
CREATE TABLE stamp (id int PRIMARY KEY, at timestamptz REFERENCES day);
CREATE TABLE fp (k double precision PRIMARY KEY);
CREATE TABLE fc (id int PRIMARY KEY, k real REFERENCES fp);
INSERT INTO day VALUES ('2024-01-01 00:00:00'), ('2024-01-02 10:30:00');
INSERT INTO booking VALUES (1, '2024-01-01');
INSERT INTO stamp VALUES (1, '2024-01-02 10:30:00+00');
INSERT INTO fp VALUES (0.5), (1.25);
INSERT INTO fc VALUES (1, 0.5), (2, 1.25);
";

/// PostgreSQL compares an FK's values across numeric precisions, numeric and integer,
/// date and timestamp, real and double; MariaDB refuses such a key (errno 150) or
/// matches no row through it (1452). The child columns take their parents' types there,
/// and every row is copied with its key.
#[test]
fn fk_columns_of_other_number_and_time_types_take_their_parents_type_on_mariadb() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(&format!("SET TimeZone = 'UTC'; {PG_FKS}"));
    let maria = TestDb::create(Engine::Mysql);
    // Natively, MariaDB takes the key and refuses the row whose parent is there.
    maria.exec(
        "CREATE TABLE np (k decimal(10,2) PRIMARY KEY);
         CREATE TABLE nc (id int PRIMARY KEY, k decimal(12,2), FOREIGN KEY (k) REFERENCES np (k));
         INSERT INTO np VALUES (1.5);",
    );
    let native = std::panic::catch_unwind(|| maria.exec("INSERT INTO nc VALUES (1, 1.5)")).expect_err("1452");
    assert!(
        native.downcast_ref::<String>().is_some_and(|e| e.contains("1452")),
        "{native:?}"
    );
    maria.exec("DROP TABLE nc; DROP TABLE np;");

    let text = job(&src, &[&maria], "");
    let plan = items(&text);
    let cd = item(&plan, "column", "cd.k");
    assert_eq!(
        (cd.action, cd.from.as_deref(), cd.to.as_deref()),
        (Action::Mapped, Some("numeric(12,2)"), Some("decimal(10,2)"))
    );
    assert_eq!(
        cd.reason.as_deref(),
        Some(
            "the type of pd.k, which it references: mysql refuses a foreign key between numbers, dates or times of \
             different types, or matches no row through it"
        )
    );
    assert_eq!(item(&plan, "column", "gn.k").to.as_deref(), Some("decimal(65,30)"));
    assert_eq!(item(&plan, "column", "booking.day").to.as_deref(), Some("datetime(6)"));

    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    for (table, column, ty) in [
        ("cd", "k", "decimal(10,2)"),
        ("cn", "k", "decimal(65,30)"),
        ("gn", "k", "decimal(65,30)"),
        ("booking", "day", "datetime(6)"),
        ("stamp", "at", "datetime(6)"),
        ("fc", "k", "double"),
    ] {
        assert_eq!(column_type(&maria, table, column), ty, "{table}.{column}");
    }
    assert_eq!(rows(&maria, "cd", "id"), [["1", "1.5"], ["2", "2"]]);
    assert_eq!(rows(&maria, "cn", "id"), [["1", "1.5"]]);
    assert_eq!(rows(&maria, "gn", "id"), [["1", "3"]]);
    assert_eq!(rows(&maria, "booking", "id"), [["1", "2024-01-01 00:00:00"]]);
    assert_eq!(rows(&maria, "stamp", "id"), [["1", "2024-01-02 10:30:00"]]);
    assert_eq!(rows(&maria, "fc", "id"), [["1", "0.5"], ["2", "1.25"]]);
    // The keys are there and hold: a child without its parent is refused.
    assert_eq!(
        one(
            &maria,
            "SELECT count(*) FROM information_schema.referential_constraints WHERE constraint_schema = database()"
        ),
        "6"
    );
    let orphan = std::panic::catch_unwind(|| maria.exec("INSERT INTO cd VALUES (3, 9.99)")).expect_err("orphan");
    assert!(orphan.downcast_ref::<String>().is_some_and(|e| e.contains("1452")));
}

/// A chain of FKs (grandchild -> child -> parent) settles on the root's type; a parent
/// already on the destination gives its own type there.
#[test]
fn fk_types_follow_chains_and_parents_found_on_the_destination() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE a (k numeric(10,2) PRIMARY KEY);
         CREATE TABLE b (k numeric(12,2) PRIMARY KEY REFERENCES a);
         CREATE TABLE c (id int PRIMARY KEY, k numeric(14,3) REFERENCES b);
         INSERT INTO a VALUES (1.25); INSERT INTO b VALUES (1.25); INSERT INTO c VALUES (1, 1.25);",
    );
    let maria = TestDb::create(Engine::Mysql);
    let done = sync(&job(&src, &[&maria], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(column_type(&maria, "b", "k"), "decimal(10,2)");
    assert_eq!(column_type(&maria, "c", "k"), "decimal(10,2)");
    assert_eq!(rows(&maria, "c", "id"), [["1", "1.25"]]);

    // `a` is there already with a type of its own: `b` takes that one.
    let there = TestDb::create(Engine::Mysql);
    there.exec("CREATE TABLE a (k decimal(8,3) PRIMARY KEY)");
    let done = sync(&job(&src, &[&there], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(column_type(&there, "b", "k"), "decimal(8,3)");
    assert_eq!(column_type(&there, "c", "k"), "decimal(8,3)");
    assert_eq!(rows(&there, "c", "id"), [["1", "1.25"]]);
}

/// The same from SQLite, whose declared types are the application's words.
#[test]
fn sqlite_fk_decimals_of_other_precisions_copy_to_mariadb() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE pd (k numeric(10,2) PRIMARY KEY);
         CREATE TABLE cd (id integer PRIMARY KEY, k numeric(12,2) REFERENCES pd(k));
         INSERT INTO pd VALUES (1.5); INSERT INTO cd VALUES (1, 1.5);",
    );
    let maria = TestDb::create(Engine::Mysql);
    let done = sync(&job(&src, &[&maria], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(column_type(&maria, "cd", "k"), "decimal(10,2)");
    assert_eq!(rows(&maria, "cd", "id"), [["1", "1.5"]]);
}

// ---- C6: defaults that are no value of their column on the destination ------------

/// WordPress's `wp_posts.post_date DEFAULT '0000-00-00 00:00:00'`: no PostgreSQL
/// timestamp. The default is left out (the plan says why) and the table is copied.
#[test]
fn a_mariadb_zero_date_default_is_left_out_on_postgres_and_the_table_copied() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(
        "SET SESSION sql_mode = '';
         CREATE TABLE wp_posts (ID bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
           post_date datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
           post_day date NOT NULL DEFAULT '0000-00-00',
           half date DEFAULT '2024-00-00',
           fine datetime NOT NULL DEFAULT '2024-05-01 10:00:00',
           post_title text NOT NULL);
         INSERT INTO wp_posts (post_date, post_day, half, post_title) VALUES ('2024-05-01 10:00:00', '2024-05-01', NULL, 'Hello');",
    );
    let pg = TestDb::create(Engine::Postgres);
    let text = job(&src, &[&pg], "");
    let plan = items(&text);
    let zero = item(&plan, "default", "wp_posts.post_date");
    assert_eq!(
        (zero.action, zero.reason.as_deref()),
        (
            Action::Skipped,
            Some(
                "'0000-00-00 00:00:00' is MariaDB's zero date, which is no date on postgres; the column there has \
                 no default, so an INSERT must give it"
            )
        )
    );
    assert_eq!(item(&plan, "default", "wp_posts.post_day").action, Action::Skipped);
    assert_eq!(
        item(&plan, "default", "wp_posts.half").reason.as_deref(),
        Some(
            "'2024-00-00' has a zero month or day (MariaDB takes it), which is no date on postgres; the column \
             there has no default"
        )
    );
    assert_eq!(item(&plan, "default", "wp_posts.fine").action, Action::Created);

    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        pg.query("SELECT \"ID\", post_date::text, post_day::text, half::text, post_title FROM wp_posts"),
        [[
            Some("1".to_string()),
            Some("2024-05-01 10:00:00".to_string()),
            Some("2024-05-01".to_string()),
            None,
            Some("Hello".to_string())
        ]]
    );
    let defaults = pg.query(
        "SELECT column_name::text, column_default FROM information_schema.columns WHERE table_name = 'wp_posts' \
         AND column_name IN ('post_date', 'post_day', 'half', 'fine') ORDER BY column_name",
    );
    assert_eq!(
        defaults,
        [
            [
                Some("fine".to_string()),
                Some("'2024-05-01 10:00:00'::timestamp without time zone".to_string())
            ],
            [Some("half".to_string()), None],
            [Some("post_date".to_string()), None],
            [Some("post_day".to_string()), None],
        ]
    );
}

/// PostgreSQL's `DEFAULT 'infinity'` (an open-ended validity) and 'NaN' are no MariaDB
/// values; a timestamptz default in UTC is the same instant without its offset there.
#[test]
fn postgres_infinity_and_nan_defaults_are_left_out_on_mariadb_and_the_table_copied() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE v (id int PRIMARY KEY,
           valid_to timestamptz NOT NULL DEFAULT 'infinity',
           valid_from timestamptz NOT NULL DEFAULT '2024-01-01 00:00:00+00',
           since date DEFAULT '-infinity',
           ratio double precision DEFAULT 'NaN');
         INSERT INTO v VALUES (1, '2030-01-01 00:00:00+00', '2024-06-01 00:00:00+00', '2024-01-01', 0.5);",
    );
    let maria = TestDb::create(Engine::Mysql);
    let text = job(&src, &[&maria], "");
    let plan = items(&text);
    let inf = item(&plan, "default", "v.valid_to");
    assert_eq!(
        (inf.action, inf.reason.as_deref()),
        (
            Action::Skipped,
            Some(
                "'infinity' is PostgreSQL's special value infinity, which mysql has no equivalent of; the column \
                 there has no default, so an INSERT must give it"
            )
        )
    );
    assert_eq!(item(&plan, "default", "v.since").action, Action::Skipped);
    assert_eq!(
        item(&plan, "default", "v.ratio").reason.as_deref(),
        Some("'NaN' is no number value on mysql; the column there has no default")
    );
    let from = item(&plan, "default", "v.valid_from");
    assert_eq!(
        (from.action, from.to.as_deref()),
        (Action::Mapped, Some("'2024-01-01 00:00:00'"))
    );

    let done = sync(&text).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(
        rows(&maria, "v", "id"),
        [["1", "2030-01-01 00:00:00", "2024-06-01 00:00:00", "2024-01-01", "0.5"]]
    );
    assert_eq!(
        one(
            &maria,
            "SELECT column_default FROM information_schema.columns WHERE table_schema = database() \
             AND table_name = 'v' AND column_name = 'valid_from'"
        ),
        "'2024-01-01 00:00:00.000000'"
    );
}

// ---- C8: PostgreSQL 15 decimals of a scale above the precision or below zero -------

/// `numeric(3,5)` holds 0.00123, `numeric(5,-2)` 1234500: MariaDB refuses
/// `decimal(3,5)` (1427) and `decimal(5,0)` holds 100 times less. They become
/// `decimal(5,5)` and `decimal(7,0)` there, which hold every value.
#[test]
fn postgres_decimals_of_odd_scales_get_types_holding_every_value() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE TABLE a (id int PRIMARY KEY, small numeric(3,5), neg numeric(5,-2));
         INSERT INTO a VALUES (1, 0.00123, 1234500), (2, -0.00999, -9999900);",
    );
    let maria = TestDb::create(Engine::Mysql);
    let lite = TestDb::create(Engine::Sqlite);
    let text = job(&src, &[&maria], "");
    let plan = items(&text);
    let small = item(&plan, "column", "a.small");
    assert_eq!(
        (small.from.as_deref(), small.to.as_deref(), small.reason.as_deref()),
        (
            Some("numeric(3,5)"),
            Some("decimal(5,5)"),
            Some("numeric(3,5) holds values of up to 5 digits, 5 of them after the point; mysql refuses or narrows that declaration")
        )
    );
    assert_eq!(item(&plan, "column", "a.neg").to.as_deref(), Some("decimal(7,0)"));

    let done = sync(&job(&src, &[&maria, &lite], "")).expect("sync");
    assert!(done.ok, "{done:?}");
    assert_eq!(column_type(&maria, "a", "small"), "decimal(5,5)");
    assert_eq!(column_type(&maria, "a", "neg"), "decimal(7,0)");
    let want = [["1", "0.00123", "1234500"], ["2", "-0.00999", "-9999900"]];
    assert_eq!(rows(&maria, "a", "id"), want);
    assert_eq!(rows(&lite, "a", "id"), want);
}

// ---- r13d #6: a SQLite FK naming a column its parent lacks --------------------------

/// SQLite takes `REFERENCES w(nope)` (and a one-column key onto a two-column primary
/// key) without checking; every write to the table is then refused there (with foreign
/// keys on, as here: the source's rows could only be written without). The plan
/// names the table, the key and the column, and nothing is written.
#[test]
fn a_sqlite_fk_naming_a_missing_column_is_a_plan_error_before_anything_is_written() {
    let src = TestDb::create(Engine::Sqlite);
    src.exec(
        "CREATE TABLE w (id int PRIMARY KEY, z int REFERENCES w(nope));
         CREATE TABLE n (a int, b int, PRIMARY KEY (a, b));
         CREATE TABLE m (id int PRIMARY KEY, x int REFERENCES n);
         CREATE TABLE ok (id int PRIMARY KEY);",
    );
    // `tether schema` shows such a key as unusable, with why.
    let schema =
        tether_testkit::block_on(tether_connect::introspect(&src.db_url(), &Default::default())).expect("introspect");
    let listing = tether_schema::render::text(&schema, &tether_schema::FkGraph::build(&schema));
    let flagged: Vec<&str> = listing
        .lines()
        .filter(|l| l.contains("UNUSABLE"))
        .map(str::trim)
        .collect();
    assert_eq!(
        flagged,
        [
            "x   INT  NULL      FK -> n(a, b) ON DELETE NO ACTION ON UPDATE NO ACTION [m_x_fkey] UNUSABLE: 1 \
             column paired with 2",
            "z   INT  NULL      FK -> w(nope) ON DELETE NO ACTION ON UPDATE NO ACTION [w_z_fkey] UNUSABLE: w has \
             no column nope",
        ]
    );
    for dest_engine in [Engine::Sqlite, Engine::Postgres, Engine::Mysql] {
        let dest = TestDb::create(dest_engine);
        let e = sync(&job(&src, &[&dest], "[tables]\ninclude = [\"w\"]\n")).expect_err("a key that cannot work");
        assert!(matches!(e, tether_sync::SyncError::Plan(_)), "{e:?}");
        assert_eq!(
            e.to_string(),
            "table w: foreign key w_z_fkey (z) references w(nope): w has no column nope; sqlite refuses every \
             write to such a table once foreign keys are on; fix or drop the key in the source, or leave w out in \
             [tables]"
        );
        let e = sync(&job(&src, &[&dest], "[tables]\ninclude = [\"m\", \"n\"]\n")).expect_err("a key that cannot work");
        assert_eq!(
            e.to_string(),
            "table m: foreign key m_x_fkey (x) references n(a, b): 1 column paired with 2; sqlite refuses every \
             write to such a table once foreign keys are on; fix or drop the key in the source, or leave m out in \
             [tables]"
        );
        let tables = match dest_engine {
            Engine::Sqlite => "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            Engine::Postgres => "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            Engine::Mysql => "SELECT count(*) FROM information_schema.tables WHERE table_schema = database()",
        };
        assert_eq!(one(&dest, tables), "0", "{dest_engine:?}");
        // A job leaving them out copies the rest.
        let done = sync(&job(&src, &[&dest], "[tables]\ninclude = [\"ok\"]\n")).expect("sync");
        assert!(done.ok, "{done:?}");
    }
}
