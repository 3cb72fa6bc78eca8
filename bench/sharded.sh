#!/usr/bin/env bash
# bench/sharded.sh: the sharded-keyspace benchmark (issue 16), see
# crates/tether-gateway/examples/sharded_bench.rs. Not part of CI.
#
#   bash bench/sharded.sh
#
# Starts its own Spider cluster (a head and two data nodes on private ports and data
# dirs, as the tests do; needs mariadb-plugin-spider, which scripts/test installs) and
# an in-process managed gateway (release build). Measures, in one run:
# - cascading DELETE and PK UPDATE on a co-located and on a cross-shard FK through
#   the managed gateway, against the same tree natively on one MariaDB node;
# - the gateway's own factor on the same cascades: a managed unsharded keyspace over
#   one MariaDB with InnoDB FKs vs that MariaDB natively, and the managed sharded
#   keyspace vs the Spider head straight with the cascades written by hand;
# - a mixed workload's throughput on 2 nodes vs 1 node (and natively).
# Knobs: BENCH_PARENTS (100), BENCH_CHILDREN (10), BENCH_CLIENTS (4), BENCH_SECONDS (10),
# BENCH_DEBUG=1 (the debug build: no release build needed, slower gateway).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${TETHER_TEST_MARIADB_PLUGIN_DIR:-}" ]; then
    dir=$(mariadbd --verbose --help 2>/dev/null | awk '$1 == "plugin-dir" {print $2}')
    [ -f "$dir/ha_spider.so" ] || { echo "ha_spider.so not in $dir: install mariadb-plugin-spider" >&2; exit 1; }
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
profile=(--release)
[ "${BENCH_DEBUG:-0}" = 1 ] && profile=()
cargo run --quiet "${profile[@]}" --locked -p tether-gateway --example sharded_bench
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
