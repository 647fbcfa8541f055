#!/usr/bin/env bash
# The main job: generate one video with the kling_quickstart example DAG and store it on disk.
# Without KLING_API_KEY it runs against the local Kling sandbox; with it, against CometAPI.
# --ui runs it in airflow standalone instead, to watch in the UI; --verbose shows Airflow's output.
set -euo pipefail
cd "$(dirname "$0")/.."
case " $* " in  # the options need no venv: a fresh clone's --help comes before the install
*" -h "* | *" --help "*) exec python3 scripts/quickstart.py --help ;;
esac
source scripts/venv.sh ""  # no extras (a bare "source" would hand it this script's arguments)
exec "$venv/bin/python" scripts/quickstart.py "$@"
