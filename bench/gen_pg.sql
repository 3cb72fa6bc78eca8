-- FK-heavy benchmark database for PostgreSQL. psql variable :rows is the total row
-- count wanted (about); tables are sized in fixed proportions of it.
-- Shapes: a self-reference (employee.manager_id), a two-table cycle with a nullable
-- edge (customer.default_address_id <-> address.customer_id), a composite primary key
-- (order_item), an FK to a unique key that is not the primary key (review.product_sku).
\set ON_ERROR_STOP on
SELECT greatest(:rows::bigint * 8 / 100, 10) AS n_customer, greatest(:rows / 1000, 10) AS n_employee,
       greatest(:rows / 100, 10) AS n_product, greatest(:rows::bigint * 15 / 100, 10) AS n_orders,
       greatest(:rows / 5, 10) AS n_review \gset
SELECT :n_customer * 3 / 2 AS n_address \gset

CREATE TABLE region (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE employee (id int PRIMARY KEY, name text NOT NULL, email text NOT NULL, manager_id int);
CREATE TABLE product (id int PRIMARY KEY, sku varchar(16) NOT NULL UNIQUE, name text NOT NULL, price numeric(10,2) NOT NULL);
CREATE TABLE customer (id int PRIMARY KEY, first_name text NOT NULL, last_name text NOT NULL, email text NOT NULL,
  region_id int NOT NULL, support_rep_id int, default_address_id int, created_at timestamptz NOT NULL);
CREATE TABLE address (id int PRIMARY KEY, customer_id int NOT NULL, street text NOT NULL, city text NOT NULL, postcode varchar(12) NOT NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, address_id int NOT NULL, placed_at timestamptz NOT NULL,
  status varchar(12) NOT NULL, total numeric(12,2) NOT NULL);
CREATE TABLE order_item (order_id bigint NOT NULL, line_no int NOT NULL, product_id int NOT NULL, qty int NOT NULL,
  unit_price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, line_no));
CREATE TABLE review (id int PRIMARY KEY, product_sku varchar(16) NOT NULL, customer_id int, rating int NOT NULL, body text NOT NULL);

INSERT INTO region SELECT g, 'region ' || g FROM generate_series(1, 50) g;
INSERT INTO employee SELECT g, 'employee ' || g, 'e' || g || '@corp.example', CASE WHEN g > 1 THEN 1 + (g * 7) % (g - 1) END
  FROM generate_series(1, :n_employee) g;
INSERT INTO product SELECT g, 'SKU-' || lpad(g::text, 8, '0'), 'product ' || g, (g % 500) + 0.99 FROM generate_series(1, :n_product) g;
INSERT INTO customer SELECT g, 'first' || g, 'last' || (g % 997), 'c' || g || '@mail.example', 1 + g % 50,
  CASE WHEN g % 10 <> 0 THEN 1 + g % :n_employee END, CASE WHEN g % 20 <> 0 THEN g END,
  timestamptz '2020-01-01' + (g % 100000) * interval '7 minutes' FROM generate_series(1, :n_customer) g;
INSERT INTO address SELECT g, CASE WHEN g <= :n_customer THEN g ELSE 1 + (g * 31) % :n_customer END,
  (g % 400) || ' Main Street', 'city ' || (g % 300), lpad((g % 99999)::text, 5, '0') FROM generate_series(1, :n_address) g;
INSERT INTO orders SELECT g, 1 + (g * 13) % :n_customer, 1 + (g * 13) % :n_customer, timestamptz '2021-01-01' + g * interval '1 minute',
  (ARRAY['placed','paid','shipped','delivered'])[1 + g % 4], (g % 1000) + 0.5 FROM generate_series(1, :n_orders) g;
INSERT INTO order_item SELECT o, l, 1 + (o * 17 + l) % :n_product, 1 + (o + l) % 5, ((o + l) % 300) + 0.25
  FROM generate_series(1, :n_orders) o, generate_series(1, 4) l WHERE l <= 1 + o % 5;
INSERT INTO review SELECT g, 'SKU-' || lpad((1 + g % :n_product)::text, 8, '0'), CASE WHEN g % 9 <> 0 THEN 1 + g % :n_customer END,
  1 + g % 5, 'review text number ' || g FROM generate_series(1, :n_review) g;

ALTER TABLE employee ADD CONSTRAINT employee_manager_fk FOREIGN KEY (manager_id) REFERENCES employee (id);
ALTER TABLE customer ADD CONSTRAINT customer_region_fk FOREIGN KEY (region_id) REFERENCES region (id);
ALTER TABLE customer ADD CONSTRAINT customer_rep_fk FOREIGN KEY (support_rep_id) REFERENCES employee (id) ON DELETE SET NULL;
ALTER TABLE address ADD CONSTRAINT address_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE customer ADD CONSTRAINT customer_default_address_fk FOREIGN KEY (default_address_id) REFERENCES address (id) ON DELETE SET NULL;
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON UPDATE CASCADE;
ALTER TABLE orders ADD CONSTRAINT orders_address_fk FOREIGN KEY (address_id) REFERENCES address (id);
ALTER TABLE order_item ADD CONSTRAINT order_item_order_fk FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE;
ALTER TABLE order_item ADD CONSTRAINT order_item_product_fk FOREIGN KEY (product_id) REFERENCES product (id);
ALTER TABLE review ADD CONSTRAINT review_product_fk FOREIGN KEY (product_sku) REFERENCES product (sku) ON UPDATE CASCADE;
ALTER TABLE review ADD CONSTRAINT review_customer_fk FOREIGN KEY (customer_id) REFERENCES customer (id) ON DELETE SET NULL;
ANALYZE;
