#!/usr/bin/env bash
# bench/gateway.sh: the gateway benchmarks, each against native MariaDB in the same
# run (see crates/tether-gateway/examples/gateway_bench.rs). Not part of CI.
#
#   bash bench/gateway.sh
#
# Needs a MariaDB reachable at TETHER_TEST_MYSQL_URL (default
# mysql://root@127.0.0.1:3306/) with the sequence engine (seq_1_to_N tables, on by
# default in MariaDB). Knobs: BENCH_REPS (3), BENCH_SECONDS (5), BENCH_CLIENTS (4),
# BENCH_OLTP_ONLY=1 (skip the cascade cases).
# Creates and drops the database tether_bench_gw.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo run --quiet --release --locked -p tether-gateway --example gateway_bench
