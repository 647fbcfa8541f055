#!/usr/bin/env bash
# Test the lowest versions pyproject.toml allows: each direct dependency at its floor (what uv calls
# lowest-direct resolution; pip gets there with a constraints file), the rest as pip resolves them
# (within scripts/airflow-pins/floors.txt),
# then the fast unit tests and the hook, operator, sensor and trigger tests.
#   bash scripts/floors.sh [--install-only] [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install.sh
venv=.venv-floors
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
python3 - >"$venv/floors.txt" <<'PY'
import re
import tomllib

project = tomllib.load(open("pyproject.toml", "rb"))["project"]
for requirement in project["dependencies"]:
    name, floor = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", requirement.replace(" ", "")).groups()
    print(f"{name}=={floor}")
PY
# Installed once per pyproject.toml and pins: a second run (CI's, beside the lines' wheel build) leaves the tree alone.
stamp="$(cat pyproject.toml scripts/airflow-pins/floors.txt "$venv/floors.txt" | sha256sum | cut -c1-64)"
if [ "$(cat "$venv/.kling-installed" 2>/dev/null)" != "$stamp" ]; then
    rm -f "$venv/.kling-installed"
    if ! kling_install "$venv" -c "$venv/floors.txt" -c scripts/airflow-pins/floors.txt -e ".[test]" \
        >"$venv/install.log" 2>&1; then
        cat "$venv/install.log" >&2
        exit 1
    fi
    echo "$stamp" >"$venv/.kling-installed"
fi
if [ "${1:-}" = --install-only ]; then
    exit 0
fi
"$venv/bin/python" - "$venv/floors.txt" <<'PY'
import sys
from importlib.metadata import version

from packaging.version import Version

for line in open(sys.argv[1]):
    name, floor = line.strip().split("==")
    assert Version(version(name)) == Version(floor), f"{name} {version(name)} installed, not its floor {floor}"
print("Floors installed:", ", ".join(line.strip() for line in open(sys.argv[1])))
PY
exec "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit tests/integration/test_operator_runs.py "$@"
