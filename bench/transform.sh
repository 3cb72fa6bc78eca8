#!/usr/bin/env bash
# Throughput of every transformer kind (values/s, one thread), release build.
# Usage: bash bench/transform.sh     (TETHER_BENCH_SECONDS=0.5 per kind by default)
# Kept out of CI; results and notes: bench/transform.md.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release -p tether-transform --example throughput
bin="${CARGO_TARGET_DIR:-target}/release/examples/throughput"
echo "# tether-transform throughput, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, one thread used"
if command -v taskset >/dev/null; then
  taskset -c 0 "$bin"
else
  "$bin"
fi
