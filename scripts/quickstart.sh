#!/usr/bin/env bash
# The main job: generate one video with the kling_quickstart example DAG and store it on disk.
# Without KLING_API_KEY it runs against the local Kling sandbox; with it, against CometAPI.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/venv.sh
exec "$venv/bin/python" scripts/quickstart.py "$@"
