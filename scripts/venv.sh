# Sourced by the scripts here: make the virtual environment if missing and install the project into it.
# KLING_VENV picks the venv (default .venv); AIRFLOW_VERSION pins Airflow; extras go in $1 (e.g. "[test]").
venv=${KLING_VENV:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pins=()
[ -n "${AIRFLOW_VERSION:-}" ] && pins=("apache-airflow==$AIRFLOW_VERSION")
if ! "$venv/bin/python" -m pip install --disable-pip-version-check -e ".${1:-}" "${pins[@]}" >"$venv/install.log" 2>&1; then
    cat "$venv/install.log" >&2
    echo "Installing into $venv failed (log: $venv/install.log)" >&2
    exit 1
fi
