"""
The README's "Your first DAG", run as a new user runs it: every command of the section, verbatim, in one shell, in a
fresh virtual environment, with a home of its own (so ``~/airflow`` is new) and none of the suite's Airflow settings.

It is slow for a test (a minute or two: a new venv gets Airflow's few hundred packages) because it is the one test
that proves the steps work on a machine with nothing set up, the database and the DAGs folder included. To keep it
as short as that allows, two things differ from what the README says, and only these:

- ``pip install .`` is done by uv from its cache, as ``scripts/install.sh`` installs (``uv pip install
  --compile-bytecode``, into the venv the section activates), where pip would take minutes;
- the sandbox's port 8787 becomes a free one, so that the test never meets another sandbox on the machine.

The section's one block marked "not run" (the paid run on CometAPI) is left out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO
from support.airflow_services import free_port
from support.docs import FENCE, remove_stored, section

#: What a fresh clone needs for ``pip install .``.
PACKAGE_FILES = ("pyproject.toml", "MANIFEST.in", "README.md", "CHANGELOG.md", "LICENSE", "NOTICE")


def _first_dag_script() -> tuple[str, int]:
    """The section as one bash script (each DAG file written where the README says to save it), and the blocks."""
    text = section((REPO / "README.md").read_text(), "first-dag")
    script, blocks = [], 0
    for match in FENCE.finditer(text):
        blocks += 1
        if match["why"]:
            continue
        if match["lang"] == "bash":
            script.append(match["code"])
        elif match["lang"] == "python":
            [path] = re.findall(r"Save this as `([^`]+)`", text[: match.start()])[-1:]
            script.append(f"cat > {path} <<'KLING_DAG_FILE'\n{match['code']}KLING_DAG_FILE\n")
        else:
            raise AssertionError(f"a {match['lang']!r} block in the README's first DAG: run it here, or mark it")
    return "\n".join(script), blocks


def _fresh_clone(folder: Path) -> None:
    for name in PACKAGE_FILES:
        shutil.copy2(REPO / name, folder / name)
    shutil.copytree(
        REPO / "airflow_provider_kling", folder / "airflow_provider_kling", ignore=shutil.ignore_patterns("__pycache__")
    )


def test_the_readme_first_dag_runs_verbatim_in_a_fresh_venv(tmp_path):
    script, blocks = _first_dag_script()
    assert blocks == 6 and script.count("pip install .") == 1 and script.count("8787") == 2, script
    uv = Path(sys.executable).with_name("uv")  # the one scripts/install.sh put into the suite's venv
    port = free_port()
    script = script.replace("pip install .", f'"{uv}" pip install --compile-bytecode .').replace("8787", str(port))
    home, clone = tmp_path / "home", tmp_path / "clone"
    home.mkdir()
    clone.mkdir()
    _fresh_clone(clone)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW", "KLING_", "VIRTUAL_ENV"))}
    env |= {
        "HOME": str(home),
        "PATH": os.pathsep.join(p for p in env["PATH"].split(os.pathsep) if Path(p) != Path(sys.executable).parent),
        # uv's cache where the suite's install left it, not in the new home: no download of what it holds
        "UV_CACHE_DIR": subprocess.run([uv, "cache", "dir"], capture_output=True, text=True, check=True).stdout.strip(),
    }
    ran = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = ran.stdout + ran.stderr
    [task_id] = set(re.findall(r"Kling task (\w+) submitted", output)) or [None]
    try:
        assert ran.returncode == 0, output[-6000:]
        [finished] = re.findall(r"DagRun Finished: dag_id=kling_first_video, .*", output)  # the README says so
        assert "state=success" in finished, output[-6000:]
        assert (home / "kling-venv" / "bin" / "kling-sandbox").exists()  # the section's own venv ran it
        [video] = Path("/tmp/kling-videos").glob(f"*/{task_id}_0.mp4")
        assert video.name in ran.stdout  # the section's ls shows it
        assert video.read_bytes()[4:8] == b"ftyp"
    finally:
        if task_id:
            remove_stored(task_id)
