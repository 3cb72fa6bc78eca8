#!/usr/bin/env bash
# bench/scan.sh [ROWS]: time `tether scan` (personal-data classification) on the
# benchmark database of bench/sync.sh (PostgreSQL, ROWS rows, default 2,000,000) and on
# the demo at the same size (SQLite), at two sample sizes. Next to it, the time of a
# full `count(*)` of every table in the same run: what a scan that read everything
# would at least cost. Drops its database at the end unless BENCH_KEEP=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROWS=${1:-2000000}
export PGHOST=${PGHOST:-127.0.0.1} PGUSER=${PGUSER:-postgres} PGPORT=${PGPORT:-5432}
WORK=$(mktemp -d)
cleanup() {
    [ "${BENCH_KEEP:-0}" = 1 ] || psql -q -c "DROP DATABASE IF EXISTS bench_scan WITH (FORCE)" postgres >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

cargo build --release --locked --quiet
TETHER=$PWD/target/release/tether
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); python3 -c "print(f'{$e - $s:.2f}')"; }

echo "== generating about $ROWS rows in PostgreSQL (bench_scan)"
psql -q -c "DROP DATABASE IF EXISTS bench_scan WITH (FORCE)" -c "CREATE DATABASE bench_scan" postgres
psql -q bench_scan -v rows="$ROWS" -f bench/gen_pg.sql
psql -q bench_scan -c "ANALYZE" >/dev/null
URL="postgres://$PGUSER@$PGHOST:$PGPORT/bench_scan"
COUNT=$(secs psql -Atc "SELECT sum(n) FROM (SELECT (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', tablename), false, true, '')))[1]::text::bigint AS n FROM pg_tables WHERE schemaname = 'public') t" bench_scan)
for sample in 500 5000; do
    S=$(secs "$TETHER" scan "$URL" --sample "$sample" --format json)
    "$TETHER" scan "$URL" --sample "$sample" --format json > "$WORK/scan.json"
    python3 - "$WORK/scan.json" "$S" "$COUNT" "$sample" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); s, count, sample = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
personal = [f"{c['table']}.{c['column']}" for c in d["columns"] if c["class"]]
print(f"PostgreSQL, sample {sample}: {s:.2f} s for {d['tables']} tables, {d['rows_read']} rows read, "
      f"{len(personal)} personal of {len(d['columns'])} columns; count(*) of every table {count:.2f} s "
      f"(scan / full count {s / count:.2f})")
print("   personal:", ", ".join(personal))
PY
done

echo "== SQLite: the demo at the same size"
SCALE=$(python3 -c "print(round($ROWS / 363034, 3))")
"$TETHER" demo "$WORK/demo.sqlite" --scale "$SCALE" 2>/dev/null
S=$(secs "$TETHER" scan "$WORK/demo.sqlite" --sample 500)
echo "SQLite demo (scale $SCALE), sample 500: $S s"
