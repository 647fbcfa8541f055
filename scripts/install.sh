# Sourced by the scripts here. kling_install VENV ARGS...: pip-style install arguments into VENV with uv, which pip
# puts into the venv first (it resolves and installs Airflow's few hundred packages in seconds, where pip takes
# minutes); with pip itself where uv cannot be had or fails. Output goes to stdout and stderr.
# uv compiles the bytecode as pip does: with PYTHONDONTWRITEBYTECODE set (as on this project's machines) nothing
# else would, and every process that imports Airflow (the tests start hundreds) would compile it again: 8 s of CPU
# each, against 3.5 s from bytecode.
kling_install() {
    local venv=$1
    shift
    if [ -x "$venv/bin/uv" ] || "$venv/bin/python" -m pip install -q --disable-pip-version-check uv; then
        "$venv/bin/uv" pip install --compile-bytecode --python "$venv/bin/python" "$@" && return 0
        echo "uv could not install this; trying pip"
    fi
    "$venv/bin/python" -m pip install --disable-pip-version-check "$@"
}
