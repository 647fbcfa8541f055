#!/usr/bin/env bash
# Test the built wheel on other Airflow lines than the newest (which scripts/test.sh covers).
#   bash scripts/airflow_lines.sh [VERSION...]     default: 3.1.8 3.2.2 (run before each release)
# For each version: a venv .venv-airflow-VERSION holding that Airflow (and scripts/airflow-pins/LINE.txt,
# if any); the wheel installed into it without a pin, which must leave Airflow's version alone; then
# the provider, hook, operator, sensor, trigger and example-DAG tests against that wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
subset=(tests/test_provider.py tests/test_hook.py tests/test_operator.py tests/test_example_dags.py)
[ $# -gt 0 ] || set -- 3.1.8 3.2.2
rm -rf dist/lines && python3 -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir dist/lines . >/dev/null
wheel=$(ls dist/lines/airflow_provider_kling-*.whl)
for version in "$@"; do
    venv=.venv-airflow-$version
    pins=scripts/airflow-pins/${version%.*}.txt
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    requirements=("apache-airflow==$version")
    [ -f "$pins" ] && requirements+=(-r "$pins")
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check "${requirements[@]}" >"$venv/install.log" 2>&1 ||
        ! "$venv/bin/python" -m pip install --disable-pip-version-check --force-reinstall --no-deps "$wheel" \
            >>"$venv/install.log" 2>&1 ||
        ! "$venv/bin/python" -m pip install --disable-pip-version-check "$wheel[test]" >>"$venv/install.log" 2>&1; then
        cat "$venv/install.log" >&2
        echo "Installing Airflow $version and the wheel into $venv failed (log: $venv/install.log)" >&2
        exit 1
    fi
    installed=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("apache-airflow"))')
    if [ "$installed" != "$version" ]; then
        echo "Installing the wheel moved Airflow from $version to $installed" >&2
        exit 1
    fi
    echo "Airflow $version: the wheel installs beside it; testing ${subset[*]}"
    # pytest itself, not python -m pytest: the tests import the installed wheel, not this checkout.
    "$venv/bin/pytest" -q -p no:cacheprovider "${subset[@]}"
done
