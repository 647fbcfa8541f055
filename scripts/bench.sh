#!/usr/bin/env bash
# Run one benchmark from benchmarks/ in its own virtual environment (.venv-bench, made if missing).
#   bash scripts/bench.sh trigger_scale [args...]   (or download, parse_cost, poll_schedule, worker_slots)
set -euo pipefail
cd "$(dirname "$0")/.."
KLING_VENV=${KLING_VENV:-.venv-bench}
source scripts/venv.sh "[bench]"
name=${1:?which benchmark: trigger_scale, download, parse_cost, poll_schedule or worker_slots}
shift
exec "$venv/bin/python" "benchmarks/$name.py" "$@"
