# Sourced by the scripts here. kling_install VENV ARGS...: pip-style install arguments into VENV with uv, which pip
# puts into the venv first (it resolves and installs Airflow's few hundred packages in seconds, where pip takes
# minutes); with pip itself where uv cannot be had or fails. Output goes to stdout and stderr.
kling_install() {
    local venv=$1
    shift
    if [ -x "$venv/bin/uv" ] || "$venv/bin/python" -m pip install -q --disable-pip-version-check uv; then
        "$venv/bin/uv" pip install --python "$venv/bin/python" "$@" && return 0
        echo "uv could not install this; trying pip"
    fi
    "$venv/bin/python" -m pip install --disable-pip-version-check "$@"
}
