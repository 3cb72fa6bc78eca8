//! Personal-data classification on labelled fixtures, on every engine: tricky names
//! (other languages and naming styles, personal data in oddly named columns,
//! harmless columns with personal-sounding names, free text with personal data
//! inside), each column's class asserted exactly; and a `privacy = "strict"` job.

use std::collections::BTreeMap;

use tether_connect::{Connection, DbUrl, IntrospectOptions};
use tether_sync::scan;
use tether_testkit::{block_on, TestDb, TestEngine as Engine};

const ENGINES: [Engine; 3] = [Engine::Sqlite, Engine::Postgres, Engine::Mysql];

const SCHEMA: &str = "
CREATE TABLE kunde (id INT NOT NULL PRIMARY KEY, vorname VARCHAR(40), nachname VARCHAR(40),
  e_mail VARCHAR(80), tel VARCHAR(30), geburtsdatum DATE, email_verified BOOLEAN,
  phone_type VARCHAR(10), notiz TEXT, strasse VARCHAR(80), plz VARCHAR(10), ort VARCHAR(40),
  country VARCHAR(40));
CREATE TABLE payment_method (id INT NOT NULL PRIMARY KEY, kunde_id INT REFERENCES kunde (id),
  blob_a VARCHAR(25), ref VARCHAR(34), label VARCHAR(20));
CREATE TABLE product (id INT NOT NULL PRIMARY KEY, name VARCHAR(40), sku VARCHAR(20),
  email_template TEXT, description TEXT, price DECIMAL(10,2));
CREATE TABLE login_event (id INT NOT NULL PRIMARY KEY, kunde_id INT REFERENCES kunde (id),
  src VARCHAR(45), at_ms BIGINT, memo TEXT, user_agent VARCHAR(100));
CREATE TABLE city (id INT NOT NULL PRIMARY KEY, city VARCHAR(50), country VARCHAR(50));
CREATE TABLE app_user (id INT NOT NULL PRIMARY KEY, EmailAddress VARCHAR(80), UserName VARCHAR(30),
  PasswordHash VARCHAR(64), LastLoginIP VARCHAR(45), name VARCHAR(60), email_count INT);
";

/// Every column's expected class (None: not personal).
const LABELS: &[(&str, &str, Option<&str>)] = &[
    ("kunde", "id", None),
    ("kunde", "vorname", Some("person_name")),
    ("kunde", "nachname", Some("person_name")),
    ("kunde", "e_mail", Some("email")),
    ("kunde", "tel", Some("phone")),
    ("kunde", "geburtsdatum", Some("birth_date")),
    ("kunde", "email_verified", None),
    ("kunde", "phone_type", None),
    ("kunde", "notiz", Some("free_text")),
    ("kunde", "strasse", Some("postal_address")),
    ("kunde", "plz", Some("postal_address")),
    ("kunde", "ort", Some("postal_address")),
    ("kunde", "country", None),
    ("payment_method", "id", None),
    ("payment_method", "kunde_id", None),
    ("payment_method", "blob_a", Some("payment_card")),
    ("payment_method", "ref", Some("bank_account")),
    ("payment_method", "label", None),
    ("product", "id", None),
    ("product", "name", None),
    ("product", "sku", None),
    ("product", "email_template", None),
    ("product", "description", None),
    ("product", "price", None),
    ("login_event", "id", None),
    ("login_event", "kunde_id", None),
    ("login_event", "src", Some("ip_address")),
    ("login_event", "at_ms", None),
    ("login_event", "memo", Some("free_text")),
    ("login_event", "user_agent", None),
    ("city", "id", None),
    ("city", "city", None),
    ("city", "country", None),
    ("app_user", "id", None),
    ("app_user", "EmailAddress", Some("email")),
    ("app_user", "UserName", Some("credential")),
    ("app_user", "PasswordHash", Some("credential")),
    ("app_user", "LastLoginIP", Some("ip_address")),
    ("app_user", "name", Some("person_name")),
    ("app_user", "email_count", None),
];

fn data(engine: Engine) -> String {
    let bool_true = if engine == Engine::Postgres { "true" } else { "1" };
    let mut sql = String::new();
    let cards = [
        "4111111111111111",
        "5500 0000 0000 0004",
        "340000000000009",
        "6011000000000004",
    ];
    let ibans = [
        "DE89370400440532013000",
        "GB82WEST12345698765432",
        "FR1420041010050500013M02606",
        "NL91ABNA0417164300",
    ];
    let memos = [
        "customer called from +49 30 1234567 about the delay",
        "asked to use anna.meier@example.de for invoices",
        "ok",
        "paid with 4111 1111 1111 1111 at the desk",
    ];
    for i in 1..=8 {
        let j = (i - 1) % 4;
        sql.push_str(&format!(
            "INSERT INTO kunde VALUES ({i}, 'Anna{i}', 'Meier', 'anna{i}@example.de', '+49 30 123456{i}', '1980-01-0{i}', \
             {bool_true}, 'mobile', 'Kundin seit 2019, bevorzugt Lieferung nachmittags', 'Hauptstr. {i}', '1011{i}', \
             'Berlin', 'Germany');\n"
        ));
        sql.push_str(&format!(
            "INSERT INTO payment_method VALUES ({i}, {i}, '{}', '{}', 'card {i}');\n",
            cards[j], ibans[j]
        ));
        sql.push_str(&format!(
            "INSERT INTO product VALUES ({i}, 'Widget {i}', 'SKU-{i:04}', 'Hello {{{{name}}}}, your order shipped', \
             'A fine widget', {i}.50);\n"
        ));
        sql.push_str(&format!(
            "INSERT INTO login_event VALUES ({i}, {i}, '10.0.{i}.7', {}, '{}', 'Mozilla/5.0 (X11; Linux x86_64)');\n",
            1_700_000_000_000_i64 + i as i64,
            memos[j]
        ));
        sql.push_str(&format!("INSERT INTO city VALUES ({i}, 'City {i}', 'Country {i}');\n"));
        sql.push_str(&format!(
            "INSERT INTO app_user VALUES ({i}, 'u{i}@mail.example', 'user{i}', \
             '5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8', '2001:db8::{i}', 'Ann Lee', {i});\n"
        ));
    }
    sql
}

async fn classes(db: &TestDb) -> BTreeMap<(String, String), Option<String>> {
    classes_at(&db.url).await
}

async fn classes_at(url: &str) -> BTreeMap<(String, String), Option<String>> {
    let url = DbUrl::parse(url).expect("url");
    let mut conn = Connection::open_source(&url).await.expect("open");
    let schema = conn
        .introspect(&IntrospectOptions::default())
        .await
        .expect("introspect");
    let tables: Vec<&tether_schema::Table> = schema.tables.iter().collect();
    let found = scan::scan(&mut conn, &schema, &tables, "test", 100)
        .await
        .expect("scan");
    conn.close().await;
    found
        .columns
        .iter()
        .map(|c| {
            (
                (c.table.clone(), c.column.clone()),
                c.class.map(|k| {
                    serde_json::to_value(k)
                        .expect("json")
                        .as_str()
                        .expect("str")
                        .to_string()
                }),
            )
        })
        .collect()
}

#[test]
fn every_column_of_the_labelled_fixture_gets_its_class_on_every_engine() {
    for engine in ENGINES {
        let db = TestDb::create(engine);
        db.exec(SCHEMA);
        db.exec(&data(engine));
        let got = block_on(classes(&db));
        let mut wrong = Vec::new();
        for (table, column, want) in LABELS {
            let key = (table.to_string(), column.to_string());
            let found = got
                .iter()
                .find(|((t, c), _)| t.eq_ignore_ascii_case(table) && c.eq_ignore_ascii_case(column))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("{engine:?}: {key:?} not scanned"));
            if found.as_deref() != *want {
                wrong.push(format!("{table}.{column}: want {want:?}, got {found:?}"));
            }
        }
        assert!(wrong.is_empty(), "{engine:?}:\n{}", wrong.join("\n"));
        assert_eq!(got.len(), LABELS.len(), "{engine:?}: every column scanned once");
    }
}

/// Every personal column of a real schema and of the demo, by hand: the scan must
/// find exactly these (`table.column class`), and nothing else.
fn assert_exact(url: &str, want: &[(&str, &str)]) {
    let got: Vec<(String, String)> = block_on(classes_at(url))
        .into_iter()
        .filter_map(|((t, c), class)| class.map(|k| (format!("{t}.{c}"), k)))
        .collect();
    let mut want: Vec<(String, String)> = want.iter().map(|(c, k)| (c.to_string(), k.to_string())).collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    want.sort();
    assert_eq!(got_sorted, want, "{url}");
}

#[test]
fn chinook_and_the_demo_are_classified_as_labelled_by_hand() {
    if let Some(dir) = tether_testkit::chinook_dir() {
        let chinook = format!("sqlite://{}", dir.join("chinook.sqlite").display());
        let mut labels = Vec::new();
        for t in ["Customer", "Employee"] {
            for (c, k) in [
                ("FirstName", "person_name"),
                ("LastName", "person_name"),
                ("Address", "postal_address"),
                ("City", "postal_address"),
                ("State", "postal_address"),
                ("PostalCode", "postal_address"),
                ("Phone", "phone"),
                ("Fax", "phone"),
                ("Email", "email"),
            ] {
                labels.push((format!("{t}.{c}"), k));
            }
        }
        labels.push(("Employee.BirthDate".into(), "birth_date"));
        for c in ["BillingAddress", "BillingCity", "BillingState", "BillingPostalCode"] {
            labels.push((format!("Invoice.{c}"), "postal_address"));
        }
        let labels: Vec<(&str, &str)> = labels.iter().map(|(c, k)| (c.as_str(), *k)).collect();
        assert_exact(&chinook, &labels);
    } else {
        eprintln!("skipped Chinook: ../shared/datasets/chinook is not there");
    }
    let dir = tether_testkit::ScratchDir::new("privacy_demo");
    let demo = dir.join("shop.sqlite");
    tether_sync::demo::write(&demo, 0.05, true).expect("demo");
    assert_exact(
        &format!("sqlite://{}", demo.display()),
        &[
            ("address.street", "postal_address"),
            ("address.city", "postal_address"),
            ("address.postcode", "postal_address"),
            ("customer.first_name", "person_name"),
            ("customer.last_name", "person_name"),
            ("customer.email", "email"),
            ("customer.phone", "phone"),
            ("customer.birth_date", "birth_date"),
            ("employee.first_name", "person_name"),
            ("employee.last_name", "person_name"),
            ("employee.email", "email"),
        ],
    );
}

/// The reviewer's scenarios (F-SCAN-DROP, F-SCAN-WORDS, F-ADDR) on the servers, each
/// column's class exact; then a `privacy = "strict"` job refuses to copy them unchanged.
#[test]
fn card_codes_numeric_ips_split_compounds_and_email_addrs_are_found_and_strict_protects_them() {
    let personal = |db: &TestDb| -> BTreeMap<String, Option<String>> {
        block_on(classes(db))
            .into_iter()
            .map(|((t, c), k)| (format!("{t}.{c}"), k))
            .collect()
    };
    let want = |pairs: &[(&str, Option<&str>)]| -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(c, k)| (c.to_string(), k.map(str::to_string)))
            .collect()
    };
    let maria = TestDb::create(Engine::Mysql);
    maria.exec(
        "CREATE TABLE users (id int PRIMARY KEY, ip_address int unsigned, last_login_ip varbinary(16), cvv char(3),
           card_cvc smallint, card_number varchar(19), email_addr varchar(80), reply_to_addr varchar(80),
           home_addr varchar(80), shipping_addr varchar(80));",
    );
    let mut rows = Vec::new();
    for i in 1..=100 {
        rows.push(format!(
            "({i}, inet_aton('203.0.113.{}'), inet6_aton('198.51.100.{}'), lpad({i} % 1000, 3, '0'), {i} % 1000, \
             concat('4111 1111 1111 ', lpad({i}, 4, '0')), 'u{i}@example.com', 'r{i}@example.org', \
             'h{i}@example.net', '{i} Main Street')",
            i % 250,
            i % 250
        ));
    }
    maria.exec(&format!("INSERT INTO users VALUES {};", rows.join(", ")));
    assert_eq!(
        personal(&maria),
        want(&[
            ("users.id", None),
            ("users.ip_address", Some("ip_address")),
            ("users.last_login_ip", Some("ip_address")),
            ("users.cvv", Some("payment_card")),
            ("users.card_cvc", Some("payment_card")),
            ("users.card_number", Some("payment_card")),
            ("users.email_addr", Some("email")),
            ("users.reply_to_addr", Some("email")),
            // Named an address, holding email addresses: the values decide.
            ("users.home_addr", Some("email")),
            ("users.shipping_addr", Some("postal_address")),
        ])
    );

    let lite = TestDb::create(Engine::Sqlite);
    lite.exec(
        "CREATE TABLE k1 (id integer PRIMARY KEY, geburtsdatum DATE, vorname TEXT, nachname TEXT, codice_fiscale TEXT,
           mac_address TEXT, latitude TEXT);
         CREATE TABLE k2 (id integer PRIMARY KEY, GeburtsDatum DATE, VorName TEXT, NachName TEXT, Reisepassnummer TEXT);
         CREATE TABLE k3 (id integer PRIMARY KEY, geburts_datum DATE, vor_name TEXT, nach_name TEXT, reise_pass TEXT);
         INSERT INTO k1 VALUES (1, '1980-01-02', 'Anna', 'Schmidt', 'RSSMRA85T10A562S', '00:1a:2b:3c:4d:5e', '48.137');",
    );
    let mut labels = vec![
        ("k1.geburtsdatum", Some("birth_date")),
        ("k1.vorname", Some("person_name")),
        ("k1.nachname", Some("person_name")),
        ("k1.codice_fiscale", Some("national_id")),
        ("k1.mac_address", Some("device_id")),
        ("k1.latitude", Some("location")),
        ("k2.GeburtsDatum", Some("birth_date")),
        ("k2.VorName", Some("person_name")),
        ("k2.NachName", Some("person_name")),
        ("k2.Reisepassnummer", Some("national_id")),
        ("k3.geburts_datum", Some("birth_date")),
        ("k3.vor_name", Some("person_name")),
        ("k3.nach_name", Some("person_name")),
        ("k3.reise_pass", Some("national_id")),
    ];
    labels.extend([("k1.id", None), ("k2.id", None), ("k3.id", None)]);
    assert_eq!(personal(&lite), want(&labels));

    let pg = TestDb::create(Engine::Postgres);
    pg.exec(
        "CREATE TABLE dev (id int PRIMARY KEY, home point, device macaddr, seen_from inet);
         INSERT INTO dev VALUES (1, '(48.1,11.5)', '08:00:2b:01:02:03', '192.0.2.1'), (2, '(52.5,13.4)', '08:00:2b:01:02:04', '192.0.2.9');",
    );
    assert_eq!(
        personal(&pg),
        want(&[
            ("dev.id", None),
            ("dev.home", Some("location")),
            ("dev.device", Some("device_id")),
            ("dev.seen_from", Some("ip_address")),
        ])
    );

    // Strict: the run is refused, naming the columns the scan used to miss.
    let dest = TestDb::create(Engine::Sqlite);
    let text = format!(
        "source = \"{}\"\nprivacy = \"strict\"\n[[destinations]]\nurl = \"{}\"\n",
        maria.url, dest.url
    );
    let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    let e = block_on(tether_sync::prepare(&job)).err().expect("refused").to_string();
    for c in [
        "users.ip_address (IP address)",
        "users.last_login_ip (IP address)",
        "users.cvv (payment card)",
        "users.card_cvc (payment card)",
        "users.email_addr (email)",
    ] {
        assert!(e.contains(c), "{c} missing in {e}");
    }
}
