#!/usr/bin/env bash
# Builds in release mode and runs every benchmark: the criterion benchmarks of this
# library's hot paths, then the side-by-side comparison with the Rust peers (median of 3,
# one process per library, workload and run). The comparison's table goes to stdout and
# to benchmarks/results.md (its figures to results.tsv), and the charts to charts/.
#
#   benchmarks/run.sh [--runs N] [--only NAME,...] [--workloads W1,W5a,...] [--dir DIR]
#   SKIP_CRITERION=1 benchmarks/run.sh    # the comparison alone
#
# Then the openraft cluster benchmark (src/bin/raft.rs).
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --bins
if [ -z "${SKIP_CRITERION:-}" ]; then
    cargo bench --bench core
fi
./target/release/compare "$@" | tee results.md
# Client writes per second through a 3-node openraft cluster on wal-openraft, against the
# same cluster on openraft's in-memory log store.
./target/release/raft
# Live logs: async durable appends (64 and 1,000 tokio tasks) against 8 threads, follower
# latency, and a follower replaying a backlog against `iter`.
./target/release/live
# The inspector: `wal verify` and `wal stats` on a 1 GiB log against a plain sequential read.
./target/release/inspect
# Compression (none, lz4, zstd) and entry formats (Codec, postcard, JSON) on JSON events.
./target/release/codecs
# Cost as the log grows: 1, 4 and 16 GiB logs and 10, 1,000 and 10,000 segments (needs ~22 GB).
./target/release/scaling | tee scaling.md
# The comparison and scaling results (results.tsv, scaling.tsv) drawn as charts/*.svg.
./target/release/charts
