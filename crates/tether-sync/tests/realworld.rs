//! Schemas shaped like the sample databases people actually copy (Pagila on
//! PostgreSQL, Sakila on MariaDB): enums, sets, domains, arrays, full-text vectors,
//! spatial values, partitioned tables, serial keys, ON UPDATE CASCADE everywhere and a
//! cycle of NOT NULL keys (a store's manager works at that store). Checked with the
//! tests' own SQL: no orphans, exact keys, values and sequences.

mod common;

use tether_testkit::{TestDb, TestEngine as Engine};

fn sync(text: &str) {
    let report = common::sync(text).unwrap_or_else(|e| panic!("sync failed: {e}"));
    assert!(report.ok, "{report:?}");
}

fn count(db: &TestDb, sql: &str) -> i64 {
    db.query(sql)[0][0].as_deref().expect("count").parse().expect("number")
}

fn column(db: &TestDb, sql: &str) -> Vec<String> {
    db.query(sql)
        .into_iter()
        .map(|r| r[0].clone().unwrap_or_else(|| "NULL".into()))
        .collect()
}

const PAGILA_LIKE: &str = "
CREATE TYPE mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
CREATE DOMAIN year AS integer CHECK (VALUE >= 1901 AND VALUE <= 2155);
CREATE TABLE store (store_id serial PRIMARY KEY, manager_staff_id integer NOT NULL, last_update timestamptz NOT NULL DEFAULT now());
CREATE TABLE staff (staff_id serial PRIMARY KEY, first_name text NOT NULL, store_id integer NOT NULL,
  active boolean NOT NULL DEFAULT true, picture bytea);
CREATE TABLE customer (customer_id serial PRIMARY KEY, store_id integer NOT NULL, email text, active boolean NOT NULL);
CREATE TABLE film (film_id serial PRIMARY KEY, title text NOT NULL, release_year year, rating mpaa_rating DEFAULT 'G',
  special_features text[], fulltext tsvector NOT NULL);
CREATE TABLE inventory (inventory_id serial PRIMARY KEY, film_id integer NOT NULL, store_id integer NOT NULL);
CREATE TABLE rental (rental_id serial PRIMARY KEY, inventory_id integer NOT NULL, customer_id integer NOT NULL,
  staff_id integer NOT NULL, rental_date timestamptz NOT NULL);
CREATE TABLE payment (payment_id serial, customer_id integer NOT NULL, staff_id integer NOT NULL, rental_id integer NOT NULL,
  amount numeric(5,2) NOT NULL, payment_date timestamptz NOT NULL, PRIMARY KEY (payment_date, payment_id))
  PARTITION BY RANGE (payment_date);
CREATE TABLE payment_p2022_01 PARTITION OF payment FOR VALUES FROM ('2022-01-01') TO ('2022-02-01');
CREATE TABLE payment_p2022_02 PARTITION OF payment FOR VALUES FROM ('2022-02-01') TO ('2022-03-01');

INSERT INTO store (store_id, manager_staff_id) VALUES (1, 1), (2, 2);
INSERT INTO staff (staff_id, first_name, store_id, picture) VALUES (1, 'Mike', 1, '\\x89504e47'), (2, 'Jon', 2, NULL);
INSERT INTO customer (customer_id, store_id, email, active) VALUES (1, 1, 'mary@example.com', true), (2, 1, NULL, false), (3, 2, 'linda@example.com', true);
INSERT INTO film (film_id, title, release_year, rating, special_features, fulltext) VALUES
  (1, 'Academy Dinosaur', 2006, 'PG', '{\"Deleted Scenes\",\"Behind the Scenes\"}', to_tsvector('academy dinosaur')),
  (2, 'Ace Goldfinger', 2006, 'G', '{Trailers}', to_tsvector('ace goldfinger')),
  (3, 'Adaptation Holes', NULL, 'NC-17', NULL, to_tsvector('adaptation holes'));
INSERT INTO inventory (inventory_id, film_id, store_id) VALUES (1, 1, 1), (2, 2, 1), (3, 3, 2), (4, 1, 2);
INSERT INTO rental (rental_id, inventory_id, customer_id, staff_id, rental_date) VALUES
  (1, 1, 1, 1, '2022-01-05 10:00:00+00'), (2, 2, 1, 1, '2022-01-07 11:30:00+00'), (3, 3, 3, 2, '2022-02-02 09:00:00+00'),
  (4, 4, 2, 2, '2022-02-10 18:45:00+00');
INSERT INTO payment (payment_id, customer_id, staff_id, rental_id, amount, payment_date) VALUES
  (1, 1, 1, 1, 2.99, '2022-01-05 10:05:00+00'), (2, 1, 1, 2, 0.99, '2022-01-07 11:35:00+00'),
  (3, 3, 2, 3, 4.99, '2022-02-02 09:10:00+00'), (4, 2, 2, 4, 5.99, '2022-02-10 18:50:00+00');
SELECT setval('store_store_id_seq', 2); SELECT setval('staff_staff_id_seq', 2); SELECT setval('customer_customer_id_seq', 3);
SELECT setval('film_film_id_seq', 3); SELECT setval('inventory_inventory_id_seq', 4); SELECT setval('rental_rental_id_seq', 4);
SELECT setval('payment_payment_id_seq', 4);

ALTER TABLE store ADD CONSTRAINT store_manager_staff_id_fkey FOREIGN KEY (manager_staff_id) REFERENCES staff (staff_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE staff ADD CONSTRAINT staff_store_id_fkey FOREIGN KEY (store_id) REFERENCES store (store_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE customer ADD CONSTRAINT customer_store_id_fkey FOREIGN KEY (store_id) REFERENCES store (store_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE inventory ADD CONSTRAINT inventory_film_id_fkey FOREIGN KEY (film_id) REFERENCES film (film_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE inventory ADD CONSTRAINT inventory_store_id_fkey FOREIGN KEY (store_id) REFERENCES store (store_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE rental ADD CONSTRAINT rental_inventory_id_fkey FOREIGN KEY (inventory_id) REFERENCES inventory (inventory_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE rental ADD CONSTRAINT rental_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customer (customer_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE rental ADD CONSTRAINT rental_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES staff (staff_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE payment ADD CONSTRAINT payment_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customer (customer_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE payment ADD CONSTRAINT payment_staff_id_fkey FOREIGN KEY (staff_id) REFERENCES staff (staff_id) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE payment ADD CONSTRAINT payment_rental_id_fkey FOREIGN KEY (rental_id) REFERENCES rental (rental_id) ON UPDATE CASCADE ON DELETE SET NULL;
";

/// (child, column, parent, column) of the Pagila-like FKs, for orphan counts.
const PAGILA_FKS: &[(&str, &str, &str, &str)] = &[
    ("store", "manager_staff_id", "staff", "staff_id"),
    ("staff", "store_id", "store", "store_id"),
    ("customer", "store_id", "store", "store_id"),
    ("inventory", "film_id", "film", "film_id"),
    ("inventory", "store_id", "store", "store_id"),
    ("rental", "inventory_id", "inventory", "inventory_id"),
    ("rental", "customer_id", "customer", "customer_id"),
    ("rental", "staff_id", "staff", "staff_id"),
    ("payment", "customer_id", "customer", "customer_id"),
    ("payment", "staff_id", "staff", "staff_id"),
    ("payment", "rental_id", "rental", "rental_id"),
];

fn no_orphans(db: &TestDb, fks: &[(&str, &str, &str, &str)]) {
    for (c, cc, p, pc) in fks {
        let sql = format!("SELECT count(*) FROM {c} x WHERE x.{cc} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {p} y WHERE y.{pc} = x.{cc})");
        assert_eq!(count(db, &sql), 0, "{}: orphans in {c}.{cc}", db.engine);
    }
}

#[test]
fn a_pagila_like_database_copies_whole_and_as_a_subset_to_every_engine() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(PAGILA_LIKE);
    for engine in [Engine::Postgres, Engine::Sqlite, Engine::Mysql] {
        // Whole copy, tables created by Tether.
        let dest = TestDb::create(engine);
        sync(&format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\n",
            src.url, dest.url
        ));
        no_orphans(&dest, PAGILA_FKS);
        assert_eq!(
            column(&dest, "SELECT payment_id FROM payment ORDER BY payment_id"),
            ["1", "2", "3", "4"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT rating FROM film ORDER BY film_id"),
            ["PG", "G", "NC-17"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT release_year FROM film ORDER BY film_id"),
            ["2006", "2006", "NULL"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT special_features FROM film ORDER BY film_id"),
            ["{\"Deleted Scenes\",\"Behind the Scenes\"}", "{Trailers}", "NULL"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT amount FROM payment ORDER BY payment_id")[0]
                .parse::<f64>()
                .expect("amount"),
            2.99
        );
        if engine == Engine::Postgres {
            // Same engine: built-in types kept, sequences moved past the copied keys.
            assert_eq!(
                column(&dest, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'film'::regclass AND attname IN ('special_features', 'fulltext') ORDER BY attname"),
                ["tsvector", "text[]"]
            );
            assert_eq!(column(&dest, "SELECT nextval('customer_customer_id_seq')"), ["4"]);
            assert_eq!(
                column(&dest, "SELECT encode(picture, 'hex') FROM staff WHERE staff_id = 1"),
                ["89504e47"]
            );
        }

        // A subset: one customer and what it needs; the NOT NULL store <-> staff cycle
        // comes along through the customer's store.
        let dest = TestDb::create(engine);
        sync(&format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\n[[subset.targets]]\ntable = \"customer\"\nwhere = \"customer_id = 3\"\n",
            src.url, dest.url
        ));
        no_orphans(&dest, PAGILA_FKS);
        assert_eq!(column(&dest, "SELECT customer_id FROM customer"), ["3"], "{engine}");
        assert_eq!(
            column(&dest, "SELECT rental_id FROM rental ORDER BY rental_id"),
            ["3"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT payment_id FROM payment ORDER BY payment_id"),
            ["3"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT store_id FROM store ORDER BY store_id"),
            ["2"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT staff_id FROM staff ORDER BY staff_id"),
            ["2"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT film_id FROM film ORDER BY film_id"),
            ["3"],
            "{engine}"
        );
    }
}

const SAKILA_LIKE: &str = "
CREATE TABLE store (store_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, manager_staff_id TINYINT UNSIGNED NOT NULL,
  last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP) ENGINE=InnoDB;
CREATE TABLE staff (staff_id TINYINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, first_name VARCHAR(45) NOT NULL,
  store_id TINYINT UNSIGNED NOT NULL, active BOOLEAN NOT NULL DEFAULT TRUE, picture BLOB NULL) ENGINE=InnoDB;
CREATE TABLE address (address_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, address VARCHAR(50) NOT NULL,
  location GEOMETRY NOT NULL, SPATIAL KEY idx_location (location)) ENGINE=InnoDB;
CREATE TABLE film (film_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, title VARCHAR(128) NOT NULL,
  release_year YEAR NULL, rating ENUM('G','PG','PG-13','R','NC-17') DEFAULT 'G',
  special_features SET('Trailers','Commentaries','Deleted Scenes','Behind the Scenes') NULL) ENGINE=InnoDB;
CREATE TABLE customer (customer_id SMALLINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, store_id TINYINT UNSIGNED NOT NULL,
  address_id SMALLINT UNSIGNED NOT NULL, email VARCHAR(50) NULL, create_date DATETIME NOT NULL) ENGINE=InnoDB;
CREATE TABLE inventory (inventory_id MEDIUMINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, film_id SMALLINT UNSIGNED NOT NULL,
  store_id TINYINT UNSIGNED NOT NULL) ENGINE=InnoDB;
CREATE TABLE rental (rental_id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, inventory_id MEDIUMINT UNSIGNED NOT NULL,
  customer_id SMALLINT UNSIGNED NOT NULL, staff_id TINYINT UNSIGNED NOT NULL, rental_date DATETIME NOT NULL,
  UNIQUE KEY (rental_date, inventory_id, customer_id)) ENGINE=InnoDB;

INSERT INTO store VALUES (1, 1, '2006-02-15 04:57:12'), (2, 2, '2006-02-15 04:57:12');
INSERT INTO staff VALUES (1, 'Mike', 1, TRUE, X'89504E47'), (2, 'Jon', 2, FALSE, NULL);
INSERT INTO address VALUES (1, '47 MySakila Drive', ST_GeomFromText('POINT(-112.8185647 49.6999986)')),
  (2, '28 MySQL Boulevard', ST_GeomFromText('POINT(-112.8185673 49.6999951)'));
INSERT INTO film VALUES (1, 'ACADEMY DINOSAUR', 2006, 'PG', 'Deleted Scenes,Behind the Scenes'), (2, 'ACE GOLDFINGER', 2006, 'G', 'Trailers'),
  (3, 'ADAPTATION HOLES', NULL, 'NC-17', NULL);
INSERT INTO customer VALUES (1, 1, 1, 'mary@sakilacustomer.org', '2006-02-14 22:04:36'), (2, 1, 2, NULL, '2006-02-14 22:04:36'),
  (3, 2, 2, 'linda@sakilacustomer.org', '2006-02-14 22:04:36');
INSERT INTO inventory VALUES (1, 1, 1), (2, 2, 1), (3, 3, 2), (4, 1, 2);
INSERT INTO rental VALUES (1, 1, 1, 1, '2005-05-24 22:53:30'), (2, 2, 1, 1, '2005-05-24 22:54:33'), (3, 3, 3, 2, '2005-05-24 23:03:39'),
  (4, 4, 2, 2, '2005-05-24 23:04:41');

ALTER TABLE store ADD CONSTRAINT fk_store_staff FOREIGN KEY (manager_staff_id) REFERENCES staff (staff_id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE staff ADD CONSTRAINT fk_staff_store FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE customer ADD CONSTRAINT fk_customer_store FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE customer ADD CONSTRAINT fk_customer_address FOREIGN KEY (address_id) REFERENCES address (address_id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE inventory ADD CONSTRAINT fk_inventory_film FOREIGN KEY (film_id) REFERENCES film (film_id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE inventory ADD CONSTRAINT fk_inventory_store FOREIGN KEY (store_id) REFERENCES store (store_id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE rental ADD CONSTRAINT fk_rental_inventory FOREIGN KEY (inventory_id) REFERENCES inventory (inventory_id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE rental ADD CONSTRAINT fk_rental_customer FOREIGN KEY (customer_id) REFERENCES customer (customer_id) ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE rental ADD CONSTRAINT fk_rental_staff FOREIGN KEY (staff_id) REFERENCES staff (staff_id) ON DELETE RESTRICT ON UPDATE CASCADE;
";

const SAKILA_FKS: &[(&str, &str, &str, &str)] = &[
    ("store", "manager_staff_id", "staff", "staff_id"),
    ("staff", "store_id", "store", "store_id"),
    ("customer", "store_id", "store", "store_id"),
    ("customer", "address_id", "address", "address_id"),
    ("inventory", "film_id", "film", "film_id"),
    ("inventory", "store_id", "store", "store_id"),
    ("rental", "inventory_id", "inventory", "inventory_id"),
    ("rental", "customer_id", "customer", "customer_id"),
    ("rental", "staff_id", "staff", "staff_id"),
];

#[test]
fn a_sakila_like_database_copies_whole_and_as_a_subset_to_every_engine() {
    let src = TestDb::create(Engine::Mysql);
    src.exec(SAKILA_LIKE);
    for engine in [Engine::Mysql, Engine::Postgres, Engine::Sqlite] {
        let dest = TestDb::create(engine);
        sync(&format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\n",
            src.url, dest.url
        ));
        no_orphans(&dest, SAKILA_FKS);
        assert_eq!(
            column(&dest, "SELECT rating FROM film ORDER BY film_id"),
            ["PG", "G", "NC-17"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT special_features FROM film ORDER BY film_id"),
            ["Deleted Scenes,Behind the Scenes", "Trailers", "NULL"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT release_year FROM film ORDER BY film_id"),
            ["2006", "2006", "NULL"],
            "{engine}"
        );
        let active = column(&dest, "SELECT active FROM staff ORDER BY staff_id");
        assert!(active == ["1", "0"] || active == ["t", "f"], "{engine}: {active:?}");
        assert_eq!(
            column(&dest, "SELECT rental_date FROM rental ORDER BY rental_id")[0].trim_end_matches(".000000"),
            "2005-05-24 22:53:30",
            "{engine}"
        );
        if engine == Engine::Mysql {
            // Same engine: the spatial value and the column types are kept.
            assert_eq!(
                column(&dest, "SELECT ST_AsText(location) FROM address ORDER BY address_id"),
                ["POINT(-112.8185647 49.6999986)", "POINT(-112.8185673 49.6999951)"]
            );
            assert_eq!(
                column(&dest, &format!("SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'film' AND COLUMN_NAME = 'rating'", dest.name)),
                ["enum('G','PG','PG-13','R','NC-17')"]
            );
        }

        let dest = TestDb::create(engine);
        sync(&format!(
            "source = \"{}\"\n[[destinations]]\nurl = \"{}\"\n[[subset.targets]]\ntable = \"rental\"\nwhere = \"rental_id = 4\"\n",
            src.url, dest.url
        ));
        no_orphans(&dest, SAKILA_FKS);
        assert_eq!(column(&dest, "SELECT rental_id FROM rental"), ["4"], "{engine}");
        assert_eq!(column(&dest, "SELECT customer_id FROM customer"), ["2"], "{engine}");
        // The customer's store is 1, the rental's staff 2: both stores and both staff,
        // each store's manager and each staff's store.
        assert_eq!(
            column(&dest, "SELECT store_id FROM store ORDER BY store_id"),
            ["1", "2"],
            "{engine}"
        );
        assert_eq!(
            column(&dest, "SELECT staff_id FROM staff ORDER BY staff_id"),
            ["1", "2"],
            "{engine}"
        );
        assert_eq!(column(&dest, "SELECT inventory_id FROM inventory"), ["4"], "{engine}");
    }
}

/// Issue 12, item 3: a `js` transformer reading its row on Pagila's referenced keys.
/// Each child takes its parent's new key from the key map (the children have no
/// `store_id` or `manager_staff_id` of their parent), whole and as a subset.
#[test]
fn a_row_reading_js_on_pagila_s_keys_reaches_every_child_whole_and_as_a_subset() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(PAGILA_LIKE);
    let transforms =
        "[transform.customer]\ncustomer_id = { kind = \"js\", code = \"(v, row) => v * 7 + row.store_id\" }\n\
        [transform.store]\nstore_id = { kind = \"js\", code = \"(v, row) => v * 10 + row.manager_staff_id\" }\n";
    let dest = TestDb::create(Engine::Sqlite);
    sync(&format!(
        "seed = \"s\"\nsource = \"{}\"\n[[destinations]]\nurl = \"{}\"\n{transforms}",
        src.url, dest.url
    ));
    no_orphans(&dest, PAGILA_FKS);
    let q = |db: &TestDb, sql: &str| column(db, sql);
    assert_eq!(
        q(
            &dest,
            "SELECT customer_id || ':' || store_id FROM customer ORDER BY customer_id"
        ),
        ["8:11", "15:11", "23:22"]
    );
    assert_eq!(
        q(&dest, "SELECT customer_id FROM rental ORDER BY rental_id"),
        ["8", "8", "23", "15"]
    );
    assert_eq!(
        q(&dest, "SELECT customer_id FROM payment ORDER BY payment_id"),
        ["8", "8", "23", "15"]
    );
    assert_eq!(
        q(
            &dest,
            "SELECT store_id || ':' || manager_staff_id FROM store ORDER BY store_id"
        ),
        ["11:1", "22:2"]
    );
    assert_eq!(q(&dest, "SELECT store_id FROM staff ORDER BY staff_id"), ["11", "22"]);
    assert_eq!(
        q(&dest, "SELECT store_id FROM inventory ORDER BY inventory_id"),
        ["11", "11", "22", "22"]
    );

    let dest = TestDb::create(Engine::Postgres);
    sync(&format!(
        "seed = \"s\"\nsource = \"{}\"\n[[destinations]]\nurl = \"{}\"\n[[subset.targets]]\ntable = \"customer\"\nwhere = \"customer_id = 3\"\n{transforms}",
        src.url, dest.url
    ));
    no_orphans(&dest, PAGILA_FKS);
    assert_eq!(
        q(&dest, "SELECT customer_id || ':' || store_id FROM customer"),
        ["23:22"]
    );
    assert_eq!(q(&dest, "SELECT customer_id FROM rental"), ["23"]);
    assert_eq!(q(&dest, "SELECT customer_id FROM payment"), ["23"]);
    assert_eq!(
        q(&dest, "SELECT store_id || ':' || manager_staff_id FROM store"),
        ["22:2"]
    );
    assert_eq!(q(&dest, "SELECT store_id FROM staff"), ["22"]);
    assert_eq!(q(&dest, "SELECT store_id FROM inventory"), ["22"]);
}
