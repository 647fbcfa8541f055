#!/usr/bin/env bash
# Run the project's checks: install into a virtual environment (made if missing), lint, then pytest.
#   bash scripts/test.sh [pytest args...]   (-n 0 runs in this one process)
#   bash scripts/test.sh --install-only      (make the venv and stop: CI does it while Debian's packages install)
# AIRFLOW_VERSION=3.3.0 pins Airflow (CI also runs the minimum we declare); KLING_VENV picks the venv.
# The metadata DB is SQLite, but for tests/system/test_production_shape.py: PostgreSQL with Celery and Redis, run when
# Debian's postgresql and redis-server are installed (skipped otherwise, unless KLING_REQUIRE_PRODUCTION_SHAPE=1).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh "[test,openlineage,production,docs]"
[ "${1:-}" = --install-only ] && exit 0
"$venv/bin/python" -c 'import airflow; print("Airflow", airflow.__version__)'
"$venv/bin/ruff" check .
"$venv/bin/ruff" format --check .
# Test files run side by side in KLING_TEST_WORKERS processes (default 3: most tests wait on renders, polls and
# subprocesses more than they compute), each with its own Airflow home, metadata DB and sandboxes.
exec "$venv/bin/python" -m pytest -n "${KLING_TEST_WORKERS:-3}" --dist loadfile "$@"
