#!/usr/bin/env bash
# bench/sync.sh [ROWS]: time `tether sync` against `pg_dump --data-only | psql` on the same
# machine, in the same run, and print the ratio; then PostgreSQL -> MariaDB and SQLite ->
# SQLite figures, and subsets of the demo (SQLite and PostgreSQL) next to its full copy.
# Needs the PostgreSQL and MariaDB that scripts/test uses (PGHOST/PGUSER and
# MYSQL_HOST/MYSQL_USER may point elsewhere). ROWS defaults to 2,000,000. Its databases
# (bench_src, bench_dump, bench_tether, bench_demo, bench_demo_copy; BENCH_DB=name
# replaces their `bench` prefix, for runs beside another) are dropped at the end unless
# BENCH_KEEP=1. ONLY=subsets skips everything before the SQLite demo (the
# pg_dump, anonymized and MariaDB figures): the subsets and their full copies only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${1:-2000000}
REPEAT=${REPEAT:-2}
DB=${BENCH_DB:-bench}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres}
MYSQL_HOST=${MYSQL_HOST:-127.0.0.1} MYSQL_USER=${MYSQL_USER:-root}
PGPORT=${PGPORT:-5432}
MYSQL_PORT=${MYSQL_PORT:-3306}
WORK=$(mktemp -d)
# On exit, drop the databases this script made (BENCH_KEEP=1 keeps them to look at).
cleanup() {
    if [ "${BENCH_KEEP:-0}" != 1 ]; then
        for db in ${DB}_src ${DB}_dump ${DB}_tether ${DB}_demo ${DB}_demo_copy; do
            psql -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres >/dev/null 2>&1 || true
        done
        mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" \
            -e "DROP DATABASE IF EXISTS ${DB}_tether" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# TETHER_BIN=path runs that binary (another build, to compare) instead of building this one.
if [ -n "${TETHER_BIN:-}" ]; then
    TETHER=$(realpath "$TETHER_BIN")
else
    cargo build --release --locked --quiet
    TETHER=${CARGO_TARGET_DIR:-$PWD/target}/release/tether
fi

# Seconds and peak RSS (MiB) of a command: sets SECS and RSS.
measure() {
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f %M -o "$WORK/rss" "$@"
    end=$(date +%s.%N)
    SECS=$(python3 -c "print(f'{$end - $start:.3f}')")
    RSS=$(( $(tail -n1 "$WORK/rss") / 1024 ))
}
min() { python3 -c "import sys; print(min(float(x) for x in sys.argv[1:]))" "$@"; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

fresh_pg() { psql -q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"; }

if [ "${ONLY:-}" != subsets ]; then
echo "== generating about $ROWS rows in PostgreSQL (${DB}_src)"
fresh_pg ${DB}_src
psql -q ${DB}_src -v rows="$ROWS" -f bench/gen_pg.sql
TOTAL=$(psql -Atc "SELECT sum(n_live_tup) FROM pg_stat_user_tables" ${DB}_src)
echo "   $TOTAL rows in $(psql -Atc "SELECT count(*) FROM pg_stat_user_tables" ${DB}_src) tables"
pg_dump --schema-only ${DB}_src > "$WORK/schema.sql"

job() {
    cat <<TOML
source = "postgres://$PGUSER@$PGHOST:$PGPORT/${DB}_src"
[[destinations]]
url = "postgres://$PGUSER@$PGHOST:$PGPORT/${DB}_tether"
create_tables = false
checks = "$1"
TOML
}
job verify > "$WORK/pg-verify.toml"
job enforce > "$WORK/pg-enforce.toml"

dump_times=() ; verify_times=() ; enforce_times=() ; verify_rss=0 ; enforce_rss=0
for i in $(seq "$REPEAT"); do
    fresh_pg ${DB}_dump; psql -q ${DB}_dump -f "$WORK/schema.sql" >/dev/null
    measure bash -c "pg_dump --data-only --disable-triggers ${DB}_src 2>/dev/null | psql -q ${DB}_dump >/dev/null"
    dump_times+=("$SECS")
    for mode in verify enforce; do
        fresh_pg ${DB}_tether; psql -q ${DB}_tether -f "$WORK/schema.sql" >/dev/null
        measure "$TETHER" sync "$WORK/pg-$mode.toml" --format json > "$WORK/report.json"
        python3 -c "import json,sys; r=json.load(open('$WORK/report.json')); sys.exit(0 if r['ok'] else 1)"
        if [ "$mode" = verify ]; then verify_times+=("$SECS"); verify_rss=$RSS; else enforce_times+=("$SECS"); enforce_rss=$RSS; fi
    done
    echo "   run $i: pg_dump | psql ${dump_times[-1]} s; tether sync checks=verify ${verify_times[-1]} s, checks=enforce ${enforce_times[-1]} s"
done
D=$(min "${dump_times[@]}"); V=$(min "${verify_times[@]}"); E=$(min "${enforce_times[@]}")
echo "PostgreSQL -> PostgreSQL, $TOTAL rows: pg_dump --data-only --disable-triggers | psql $D s"
echo "   tether sync, checks = \"verify\":  $V s, ratio $(ratio "$V" "$D"), peak RSS $verify_rss MiB"
echo "   tether sync, checks = \"enforce\": $E s, ratio $(ratio "$E" "$D"), peak RSS $enforce_rss MiB"

echo "== anonymized sync (every personal column transformed) against the same sync with none"
{ echo 'seed = "bench-seed"'; cat "$WORK/pg-verify.toml"; cat <<'TOML'
[transform.customer]
id = "hash"
first_name = "first_name"
last_name = "last_name"
email = { kind = "email", unique = true }
created_at = { kind = "date_shift", max_days = 30 }
[transform.employee]
id = "hash"
name = "full_name"
email = { kind = "email", unique = true }
[transform.address]
street = "street_address"
city = "city"
postcode = "zip"
[transform.review]
body = "lorem"
TOML
} > "$WORK/pg-anon.toml"
anon_times=() ; plain_times=() ; anon_rss=0
for i in $(seq "$REPEAT"); do
    for mode in verify anon; do
        fresh_pg ${DB}_tether; psql -q ${DB}_tether -f "$WORK/schema.sql" >/dev/null
        measure "$TETHER" sync "$WORK/pg-$mode.toml" --format json > "$WORK/report.json"
        python3 -c "import json,sys; r=json.load(open('$WORK/report.json')); sys.exit(0 if r['ok'] else 1)"
        if [ "$mode" = anon ]; then anon_times+=("$SECS"); anon_rss=$RSS; else plain_times+=("$SECS"); fi
    done
done
P=$(min "${plain_times[@]}"); A=$(min "${anon_times[@]}")
echo "Anonymized PostgreSQL -> PostgreSQL, $TOTAL rows (checks = \"verify\"): plain $P s, anonymized $A s, ratio $(ratio "$A" "$P"), peak RSS $anon_rss MiB"

echo "== PostgreSQL -> MariaDB"
mariadb -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -e "DROP DATABASE IF EXISTS ${DB}_tether; CREATE DATABASE ${DB}_tether"
cat > "$WORK/my.toml" <<TOML
source = "postgres://$PGUSER@$PGHOST:$PGPORT/${DB}_src"
[[destinations]]
url = "mysql://$MYSQL_USER@$MYSQL_HOST:$MYSQL_PORT/${DB}_tether"
truncate = true
checks = "verify"
TOML
measure "$TETHER" sync "$WORK/my.toml" --format json > "$WORK/report.json"
echo "PostgreSQL -> MariaDB, $TOTAL rows, checks = \"verify\": tether sync $SECS s ($(python3 -c "print(int($TOTAL / $SECS))") rows/s), peak RSS $RSS MiB, ratio to pg_dump | psql $(ratio "$SECS" "$D")"

fi

echo "== SQLite -> SQLite (tether demo at the same size)"
SCALE=$(python3 -c "print(round($ROWS / 363034, 3))")
"$TETHER" demo "$WORK/demo.sqlite" --scale "$SCALE" 2>/dev/null
DEMO_ROWS=$(python3 -c "
import sqlite3; c = sqlite3.connect('$WORK/demo.sqlite')
print(sum(c.execute(f'SELECT count(*) FROM \"{t}\"').fetchone()[0] for (t,) in c.execute(\"SELECT name FROM sqlite_master WHERE type='table'\")))")
cat > "$WORK/lite.toml" <<TOML
source = "sqlite://$WORK/demo.sqlite"
[[destinations]]
url = "sqlite://$WORK/copy.sqlite"
TOML
# Subsets of the same demo into the same destination engine, alternated with the full copy
# (best of REPEAT each): about 5% of customers with their children followed, and 5% of
# orders (a child table: parents pulled in, order items and shipments followed).
CUSTOMERS=$(python3 -c "print(max(1, round(20000 * $SCALE / 20)))")
ORDERS=$(python3 -c "print(max(1, round(60000 * $SCALE / 20)))")
subset_job() {
    sed "s|copy.sqlite|subset.sqlite|" "$WORK/lite.toml"
    printf '[[subset.targets]]\ntable = "%s"\nwhere = "id <= %s"\n' "$1" "$2"
}
subset_job customer "$CUSTOMERS" > "$WORK/lite-customers.toml"
subset_job orders "$ORDERS" > "$WORK/lite-orders.toml"
full_times=() ; cust_times=() ; ord_times=() ; cust_rss=0 ; ord_rss=0
rows_of() { python3 -c "import json; r=json.load(open('$WORK/report.json')); assert r['ok']; print(sum(t['rows_written'][0] for t in r['tables']))"; }
for i in $(seq "$REPEAT"); do
    rm -f "$WORK/copy.sqlite"
    measure "$TETHER" sync "$WORK/lite.toml" --format json > "$WORK/report.json"
    full_times+=("$SECS"); LR=$RSS
    rm -f "$WORK/subset.sqlite"
    measure "$TETHER" sync "$WORK/lite-customers.toml" --format json > "$WORK/report.json"
    cust_times+=("$SECS"); cust_rss=$RSS; CUST_ROWS=$(rows_of)
    rm -f "$WORK/subset.sqlite"
    measure "$TETHER" sync "$WORK/lite-orders.toml" --format json > "$WORK/report.json"
    ord_times+=("$SECS"); ord_rss=$RSS; ORD_ROWS=$(rows_of)
done
LT=$(min "${full_times[@]}"); CT=$(min "${cust_times[@]}"); OT=$(min "${ord_times[@]}")
rate() { python3 -c "print(int($1 / $2))"; }
FULL_RATE=$(rate "$DEMO_ROWS" "$LT")
echo "SQLite -> SQLite subsets of the same demo (rows/s against the full copy's $FULL_RATE rows/s):"
echo "   customer id <= $CUSTOMERS (5%), children followed: $CUST_ROWS rows in $CT s, $(rate "$CUST_ROWS" "$CT") rows/s, full/subset $(ratio "$FULL_RATE" "$(rate "$CUST_ROWS" "$CT")"), peak RSS $cust_rss MiB"
echo "   orders id <= $ORDERS (5%, a child table): $ORD_ROWS rows in $OT s, $(rate "$ORD_ROWS" "$OT") rows/s, full/subset $(ratio "$FULL_RATE" "$(rate "$ORD_ROWS" "$OT")"), peak RSS $ord_rss MiB"
# Baseline: SQLite's own dump replayed (Python's iterdump, as `sqlite3 .dump | sqlite3`).
measure python3 -c "
import sqlite3; s = sqlite3.connect('$WORK/demo.sqlite'); d = sqlite3.connect('$WORK/dump.sqlite')
d.executescript(';'.join(s.iterdump()))"
echo "SQLite -> SQLite, $DEMO_ROWS rows: tether sync $LT s ($(python3 -c "print(int($DEMO_ROWS / $LT))") rows/s, peak RSS $LR MiB); sqlite dump replay $SECS s; ratio $(ratio "$LT" "$SECS")"

echo "== PostgreSQL -> PostgreSQL subsets of the same demo (loaded into ${DB}_demo)"
fresh_pg ${DB}_demo
cat > "$WORK/demo-pg.toml" <<TOML
source = "sqlite://$WORK/demo.sqlite"
[[destinations]]
url = "postgres://$PGUSER@$PGHOST:$PGPORT/${DB}_demo"
create_tables = true
checks = "verify"
TOML
"$TETHER" sync "$WORK/demo-pg.toml" --format json > "$WORK/report.json"
psql -q -c "VACUUM ANALYZE" ${DB}_demo
pg_dump --schema-only ${DB}_demo > "$WORK/demo-schema.sql"
pg_job() {
    printf 'source = "postgres://%s@%s:%s/%s_demo"\n[[destinations]]\n' "$PGUSER" "$PGHOST" "$PGPORT" "$DB"
    printf 'url = "postgres://%s@%s:%s/%s_demo_copy"\ncreate_tables = false\nchecks = "verify"\n' "$PGUSER" "$PGHOST" "$PGPORT" "$DB"
    if [ $# -gt 0 ]; then printf '[[subset.targets]]\ntable = "%s"\nwhere = "id <= %s"\n' "$1" "$2"; fi
}
pg_job > "$WORK/pg-full.toml"
pg_job customer "$CUSTOMERS" > "$WORK/pg-customers.toml"
pg_job orders "$ORDERS" > "$WORK/pg-orders.toml"
pg_run() {
    fresh_pg ${DB}_demo_copy; psql -q ${DB}_demo_copy -f "$WORK/demo-schema.sql" >/dev/null
    measure "$TETHER" sync "$1" --format json > "$WORK/report.json"
}
full_times=() ; cust_times=() ; ord_times=()
for i in $(seq "$REPEAT"); do
    pg_run "$WORK/pg-full.toml"; full_times+=("$SECS"); PR=$RSS
    pg_run "$WORK/pg-customers.toml"; cust_times+=("$SECS"); cust_rss=$RSS; CUST_ROWS=$(rows_of)
    pg_run "$WORK/pg-orders.toml"; ord_times+=("$SECS"); ord_rss=$RSS; ORD_ROWS=$(rows_of)
done
LT=$(min "${full_times[@]}"); CT=$(min "${cust_times[@]}"); OT=$(min "${ord_times[@]}")
FULL_RATE=$(rate "$DEMO_ROWS" "$LT")
echo "PostgreSQL -> PostgreSQL subsets (checks = \"verify\"; rows/s against the full copy's $FULL_RATE rows/s, $LT s, peak RSS $PR MiB):"
echo "   customer id <= $CUSTOMERS (5%), children followed: $CUST_ROWS rows in $CT s, $(rate "$CUST_ROWS" "$CT") rows/s, full/subset $(ratio "$FULL_RATE" "$(rate "$CUST_ROWS" "$CT")"), peak RSS $cust_rss MiB"
echo "   orders id <= $ORDERS (5%, a child table): $ORD_ROWS rows in $OT s, $(rate "$ORD_ROWS" "$OT") rows/s, full/subset $(ratio "$FULL_RATE" "$(rate "$ORD_ROWS" "$OT")"), peak RSS $ord_rss MiB"
