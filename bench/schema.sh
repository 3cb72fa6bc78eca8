#!/usr/bin/env bash
# bench/schema.sh [ROWS]: a whole-database copy into an empty PostgreSQL database, schema
# included (issue 13): `pg_dump bench_src | psql` (schema + data + indexes) against
# `tether sync` with create_tables and the default checks ("enforce"), alternated in the
# same run (REPEAT rounds, default 3), with TLS (both clients' default over 127.0.0.1:
# `prefer`, and the server has ssl = on) and without (`sslmode=disable` for both).
# Prints each round (with its ratio), the best of each, the ratio of the bests, the median
# of the rounds' ratios (steadier on a shared machine) and peak RSS. The database is
# bench/gen_pg.sql (ROWS, default 2,000,000) plus secondary indexes and CHECKs, so that
# index building counts. Databases bench_src, bench_dump, bench_tether are dropped at
# the end unless BENCH_KEEP=1; BENCH_REUSE=1 reuses a kept bench_src; TETHER= another binary.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${1:-2000000}
REPEAT=${REPEAT:-3}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
PGPORT=${PGPORT:-5432}
WORK=$(mktemp -d)
cleanup() {
    if [ "${BENCH_KEEP:-0}" != 1 ]; then
        for db in bench_src bench_dump bench_tether; do
            psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres >/dev/null 2>&1 || true
        done
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked --quiet
TETHER=${TETHER:-$PWD/target/release/tether}

# Seconds and peak RSS (MiB) of a command: sets SECS and RSS.
measure() {
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f %M -o "$WORK/rss" "$@"
    end=$(date +%s.%N)
    SECS=$(python3 -c "print(f'{$end - $start:.2f}')")
    RSS=$(( $(tail -n1 "$WORK/rss") / 1024 ))
}
min() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }
# The median of the rounds' ratios (tether / pg_dump|psql of the same round): "$1" and
# "$2" are the rounds' seconds, in order.
median_ratio() {
    python3 -c "import sys, statistics; a, b = sys.argv[1].split(), sys.argv[2].split(); \
print(f'{statistics.median(float(y) / float(x) for x, y in zip(a, b)):.2f}')" "$1" "$2"
}
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }
fresh_pg() { psql -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" postgres; }

if [ "${BENCH_REUSE:-0}" != 1 ]; then
    echo "== generating about $ROWS rows in PostgreSQL (bench_src), with secondary indexes and CHECKs"
    fresh_pg bench_src
    psql -q bench_src -v rows="$ROWS" -f bench/gen_pg.sql
    psql -q bench_src <<'SQL'
CREATE INDEX customer_email_idx ON customer (email);
CREATE INDEX customer_name_idx ON customer (last_name, first_name);
CREATE INDEX address_customer_idx ON address (customer_id);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE INDEX orders_placed_idx ON orders (placed_at) WHERE status <> 'delivered';
CREATE INDEX order_item_product_idx ON order_item (product_id);
CREATE INDEX review_product_idx ON review (product_sku);
CREATE INDEX review_lower_body_idx ON review (lower(body));
ALTER TABLE order_item ADD CONSTRAINT order_item_qty_check CHECK (qty > 0);
ALTER TABLE review ADD CONSTRAINT review_rating_check CHECK (rating BETWEEN 1 AND 5);
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('placed', 'paid', 'shipped', 'delivered'));
ANALYZE;
SQL
fi
TOTAL=$(psql -Atc "SELECT sum(n_live_tup) FROM pg_stat_user_tables" bench_src)
INDEXES=$(psql -Atc "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'" bench_src)
echo "   $TOTAL rows in $(psql -Atc "SELECT count(*) FROM pg_stat_user_tables" bench_src) tables, $INDEXES indexes"

# $1: URL suffix ("" or "?sslmode=disable").
job() {
    cat <<TOML
source = "postgres://$PGUSER@$PGHOST:$PGPORT/bench_src$1"
[[destinations]]
url = "postgres://$PGUSER@$PGHOST:$PGPORT/bench_tether$1"
create_tables = true
TOML
}
job "" > "$WORK/tls.toml"
job "?sslmode=disable" > "$WORK/plain.toml"

declare -A T RSSOF
for i in $(seq "$REPEAT"); do
    line="   round $i:"
    for ssl in tls plain; do
        if [ $ssl = plain ]; then mode=disable; else mode=prefer; fi
        fresh_pg bench_dump
        measure env PGSSLMODE=$mode bash -c "pg_dump bench_src | psql -q -v ON_ERROR_STOP=1 bench_dump >/dev/null"
        T[dump_$ssl]+=" $SECS"; line+=" pg_dump|psql ($ssl) $SECS s;"
        fresh_pg bench_tether
        measure "$TETHER" sync "$WORK/$ssl.toml" --format json > "$WORK/report.json"
        python3 -c "import json,sys; r=json.load(open('$WORK/report.json')); sys.exit(0 if r['ok'] else 1)"
        T[tether_$ssl]+=" $SECS"; RSSOF[$ssl]=$RSS
        line+=" tether ($ssl) $SECS s ($(ratio "$SECS" "$(echo "${T[dump_$ssl]}" | awk '{print $NF}')"));"
    done
    echo "$line load $(cut -d' ' -f1-3 /proc/loadavg)"
done
# The copies must be the same schema: compare the two dumps' schema (names of the dump
# itself normalized away by pg_dump's own ordering).
pg_dump --schema-only bench_dump | grep -Ev '^(--|\\(un)?restrict)' > "$WORK/a.sql"
pg_dump --schema-only bench_tether | grep -Ev '^(--|\\(un)?restrict)' > "$WORK/b.sql"
if diff -q "$WORK/a.sql" "$WORK/b.sql" >/dev/null; then echo "   schemas equal (pg_dump --schema-only)"; else
    echo "   schemas DIFFER:"; diff "$WORK/a.sql" "$WORK/b.sql" | head -20; fi
STAGED=$(psql -Atc "SELECT count(*) FROM pg_namespace WHERE nspname LIKE '\\_tether\\_stage\\_%'" bench_tether)
echo "   staging schemas left in bench_tether: $STAGED"
for ssl in tls plain; do
    D=$(min ${T[dump_$ssl]}); E=$(min ${T[tether_$ssl]})
    echo "PostgreSQL -> empty PostgreSQL, schema included, $TOTAL rows, $ssl: pg_dump | psql $D s; tether sync (checks = \"enforce\") $E s; ratio of the best $(ratio "$E" "$D"), median of the rounds' ratios $(median_ratio "${T[dump_$ssl]}" "${T[tether_$ssl]}"); peak RSS ${RSSOF[$ssl]} MiB"
done
