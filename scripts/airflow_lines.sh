#!/usr/bin/env bash
# Test the built wheel on other Airflow lines than the newest (which scripts/test.sh covers).
#   bash scripts/airflow_lines.sh [--install-only] [VERSION...] [-- PYTEST ARGS...]
# Versions default to 3.1.8 3.2.2 (run before each release); pytest arguments such as -k narrow the tests.
# For each version: a venv .venv-airflow-VERSION holding that Airflow (with scripts/airflow-pins/LINE.txt,
# if there is one); then the wheel, installed without a pin, which must leave Airflow's version alone;
# then the fast unit tests and the provider, hook, operator, sensor, trigger, example-DAG and pool tests
# against that wheel.
# --install-only makes the venvs and stops (CI does it while the main suite runs).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install.sh
install_only=false
if [ "${1:-}" = --install-only ]; then
    install_only=true
    shift
fi
versions=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    versions+=("$1")
    shift
done
[ $# -gt 0 ] && shift  # the --; pytest takes what follows
[ ${#versions[@]} -gt 0 ] || versions=(3.1.8 3.2.2)
subset=(tests/unit tests/integration/test_operator_runs.py tests/integration/test_example_dags.py tests/system/test_provider.py
    tests/system/test_pool.py)

# pip_into VENV ARGS...: install (uv, as everywhere: pip's resolver backtracked for minutes over the wheel's
# test extra on Airflow 2.11), keeping the log; on failure show it and stop
pip_into() {
    local venv=$1
    shift
    if ! kling_install "$venv" "$@" >>"$venv/install.log" 2>&1; then
        cat "$venv/install.log" >&2
        echo "Installing $* into $venv failed (log: $venv/install.log)" >&2
        exit 1
    fi
}

for version in "${versions[@]}"; do
    venv=.venv-airflow-$version
    pins=scripts/airflow-pins/${version%.*}.txt
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    : >"$venv/install.log"
    requirements=("apache-airflow==$version")
    [ -f "$pins" ] && requirements+=(-r "$pins")
    if ! kling_install "$venv" "${requirements[@]}" >>"$venv/install.log" 2>&1; then
        cat "$venv/install.log" >&2
        echo "Installing Airflow $version into $venv failed (log: $venv/install.log)" >&2
        exit 1
    fi
done
$install_only && exit 0

rm -rf dist/lines
python3 -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir dist/lines . >/dev/null
wheel=$(ls dist/lines/airflow_provider_kling-*.whl)
for version in "${versions[@]}"; do
    venv=.venv-airflow-$version
    pip_into "$venv" --force-reinstall --no-deps "$wheel"
    # psycopg2 and asyncpg: tests/system/test_pool.py runs its scheduler on PostgreSQL (Airflow 3 also connects async).
    pip_into "$venv" "$wheel[test,openlineage]" psycopg2-binary asyncpg
    installed=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("apache-airflow"))')
    if [ "$installed" != "$version" ]; then
        echo "Installing the wheel moved Airflow from $version to $installed" >&2
        exit 1
    fi
done
# The lines run side by side (each has its own Airflow home and sandboxes), each into its own log.
# pytest itself, not python -m pytest: the tests import the installed wheel, not this checkout.
runs=()
for version in "${versions[@]}"; do
    venv=.venv-airflow-$version
    "$venv/bin/pytest" -q -p no:cacheprovider "${subset[@]}" "$@" >"$venv/pytest.log" 2>&1 &
    runs+=($!)
done
failed=()
for index in "${!versions[@]}"; do
    version=${versions[$index]}
    outcome=passed
    wait "${runs[$index]}" || outcome=failed
    echo "=== Airflow $version: the wheel installs beside it; ${subset[*]} $*: $outcome"
    cat ".venv-airflow-$version/pytest.log"
    [ $outcome = passed ] || failed+=("$version")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "Failed on Airflow ${failed[*]}" >&2
    exit 1
fi
