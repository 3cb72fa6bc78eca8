#!/usr/bin/env bash
# bench/gateway.sh: the gateway benchmarks, each against native MariaDB in the same
# run (see crates/tether-gateway/examples/gateway_bench.rs). Not part of CI.
#
#   bash bench/gateway.sh
#
# Needs a MariaDB reachable at TETHER_TEST_MYSQL_URL (default
# mysql://root@127.0.0.1:3306/) with the sequence engine (seq_1_to_N tables, on by
# default in MariaDB). Knobs: BENCH_REPS (cascades, 3), BENCH_ROUNDS (OLTP, 30),
# BENCH_SLICE_MS (1000), BENCH_CLIENTS (4),
# BENCH_OLTP_ONLY=1 (skip the cascade cases), BENCH_CASCADES_ONLY=1 (skip OLTP).
# The gateway runs as its own process, the release build of `tether gateway`.
# Creates and drops the database tether_bench_gw.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --quiet --release --locked -p tether-cli
export TETHER_BIN="${CARGO_TARGET_DIR:-target}/release/tether"
cargo run --quiet --release --locked -p tether-gateway --example gateway_bench
