#!/usr/bin/env bash
# Test the built wheel on other Airflow lines than the newest (which scripts/test.sh covers).
#   bash scripts/airflow_lines.sh [--install-only] [VERSION[:core]...] [-- PYTEST ARGS...]
# Versions default to 3.1.8 3.2.2 (run before each release); pytest arguments such as -k narrow the tests.
# VERSION:core runs the core below instead of the whole subset (CI, on Airflow 3.0, whose dag.test()
# takes 5-10 s a run where 3.3's takes 1).
# For each version: a venv .venv-airflow-VERSION holding that Airflow (with scripts/airflow-pins/LINE.txt,
# if there is one); then the wheel, installed without a pin, which must leave Airflow's version alone;
# then the provider, hook, operator, sensor, trigger and example-DAG tests against that wheel.
# --install-only makes the venvs and stops (CI does it while the main suite runs).
set -euo pipefail
cd "$(dirname "$0")/.."
install_only=false
if [ "${1:-}" = --install-only ]; then
    install_only=true
    shift
fi
versions=()
declare -A only_core
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    versions+=("${1%:core}")
    [ "$1" = "${1%:core}" ] || only_core[${1%:core}]=1
    shift
done
[ $# -gt 0 ] && shift  # the --; pytest takes what follows
[ ${#versions[@]} -gt 0 ] || versions=(3.1.8 3.2.2)
subset=(tests/test_provider.py tests/test_hook.py tests/test_operator.py tests/test_example_dags.py)
core=(-k "test_provider or test_hook or blocking_and_deferrable or lost_submit_answer or submission_record or \
sensor_waits or failed_generation or key_is_nowhere or loads_without or quickstart_stores or alerts_when")

pip_into() {  # pip_into VENV ARGS...: install, keeping the log; on failure show it and stop
    local venv=$1
    shift
    if ! "$venv/bin/python" -m pip install --disable-pip-version-check "$@" >>"$venv/install.log" 2>&1; then
        cat "$venv/install.log" >&2
        echo "pip install $* into $venv failed (log: $venv/install.log)" >&2
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
    pip_into "$venv" "${requirements[@]}"
done
$install_only && exit 0

rm -rf dist/lines
python3 -m pip wheel --quiet --disable-pip-version-check --no-deps --wheel-dir dist/lines . >/dev/null
wheel=$(ls dist/lines/airflow_provider_kling-*.whl)
for version in "${versions[@]}"; do
    venv=.venv-airflow-$version
    pip_into "$venv" --force-reinstall --no-deps "$wheel"
    pip_into "$venv" "$wheel[test]"
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
    selection=()
    [ -z "${only_core[$version]:-}" ] || selection=("${core[@]}")
    "$venv/bin/pytest" -q -p no:cacheprovider "${subset[@]}" "${selection[@]}" "$@" >"$venv/pytest.log" 2>&1 &
    runs+=($!)
done
failed=()
for index in "${!versions[@]}"; do
    version=${versions[$index]}
    outcome=passed
    wait "${runs[$index]}" || outcome=failed
    what="${subset[*]}"
    [ -z "${only_core[$version]:-}" ] || what="the core of $what"
    echo "=== Airflow $version: the wheel installs beside it; $what $*: $outcome"
    cat ".venv-airflow-$version/pytest.log"
    [ $outcome = passed ] || failed+=("$version")
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "Failed on Airflow ${failed[*]}" >&2
    exit 1
fi
