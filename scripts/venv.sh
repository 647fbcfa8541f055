# Sourced by the scripts here: make the virtual environment if missing and install the project into it.
# KLING_VENV picks the venv (default .venv); AIRFLOW_VERSION pins Airflow; extras go in $1 (e.g. "[test]").
# The install is skipped when the venv already holds this pyproject.toml, pin and extras ($venv/.kling-installed).
venv=${KLING_VENV:-.venv}
source scripts/install.sh
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pins=()
[ -n "${AIRFLOW_VERSION:-}" ] && pins=("apache-airflow==$AIRFLOW_VERSION")
key="$(sha256sum pyproject.toml | cut -c1-64) ${pins[*]:-}"
extras=${1:-}
installed=$(cat "$venv/.kling-installed" 2>/dev/null || true)
if [ "$(head -n 1 <<<"$installed")" != "$key" ] || { [ -n "$extras" ] && ! grep -qxF -- "$extras" <<<"$installed"; }; then
    rm -f "$venv/.kling-installed"
    echo "Installing the provider and Airflow into $venv (the first time takes a minute; log: $venv/install.log)"
    # The ticker ends with this shell too ($$ is the shell's even in the subshell): Ctrl+C leaves no loop behind.
    (while sleep 15 && kill -0 $$ 2>/dev/null; do echo "  ... still installing"; done) &
    ticker=$!
    installed_ok=true
    kling_install "$venv" -e ".$extras" "${pins[@]}" >"$venv/install.log" 2>&1 || installed_ok=false
    kill "$ticker"
    wait "$ticker" 2>/dev/null || true
    if ! $installed_ok; then
        cat "$venv/install.log" >&2
        echo "Installing into $venv failed (log: $venv/install.log)" >&2
        exit 1
    fi
    [ "$(head -n 1 <<<"$installed")" = "$key" ] || installed=$key
    printf '%s\n%s\n' "$installed" "$extras" >"$venv/.kling-installed"
fi
