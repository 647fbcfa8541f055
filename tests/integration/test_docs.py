"""
The documentation runs. Every Python block of the README and of the docs pages runs as a reader would run it,
against the sandbox in each profile; the README's links work where a package index shows it; the site builds with
``mkdocs build --strict``. (The README's first DAG, run verbatim in a fresh virtual environment, is
``tests/test_first_dag_fresh_venv.py``.)

A block that is not meant to run is marked ``<!-- not run: why -->`` on the line above it. Python blocks that are
only an include of an example DAG (``--8<-- "example_dags/..."``) are the example's code, which
``tests/integration/test_example_dags.py`` runs.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO
from support.docs import FENCE, remove_stored, section, stored_videos

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
#: A pymdownx.snippets include on a line of its own: a file, or a section of it (``README.md:first-dag``).
INCLUDE = re.compile(r'^--8<-- "(?P<path>[^":]+)(?::(?P<section>[\w-]+))?"$', re.M)
EXAMPLE_INCLUDE = re.compile(r'--8<-- "(example_dags/[^"]+\.py)"')


def expanded(page: Path) -> str:
    """A page as the site shows it: its includes of Markdown files (the README's sections, the changelog) in place."""

    def include(match: re.Match[str]) -> str:
        text = (REPO / match["path"]).read_text()
        return section(text, match["section"]) if match["section"] else text

    text = page.read_text()
    return INCLUDE.sub(lambda m: include(m) if m["path"].endswith(".md") else m[0], text)


@dataclass(frozen=True)
class Block:
    """A fenced block of a page: where it starts, its language, its code, and why it is not run, if it is not."""

    where: str
    lang: str
    code: str
    not_run: str | None

    @property
    def is_dag_file(self) -> bool:
        return 'if __name__ == "__main__":' in self.code and "dag.test()" in self.code

    @property
    def dag_id(self) -> str:
        return re.search(r'DAG\(\s*(?:dag_id=)?"([^"]+)"', self.code)[1]


def blocks(page: Path) -> list[Block]:
    """The page's fenced blocks, its includes of Markdown in place; each named by the line of its fence."""
    own = page.read_text()
    name = str(page.relative_to(REPO))

    def where(code: str) -> str:
        at = own.find(code)
        return f"{name}:{own.count(chr(10), 0, at)}" if at >= 0 else f"{name}:included"

    return [Block(where(m["code"]), m["lang"], m["code"], m["why"]) for m in FENCE.finditer(expanded(page))]


ALL_BLOCKS = [block for page in PAGES for block in blocks(page)]
PYTHON = [block for block in ALL_BLOCKS if block.lang == "python"]
#: Python blocks that are only an include of an example DAG's file.
EXAMPLES = [block for block in PYTHON if EXAMPLE_INCLUDE.fullmatch(block.code.strip())]
#: The Python blocks to run: each once, where it first appears (the quickstart page shows the README's first DAG).
RUNNABLE: list[Block] = []
for block in PYTHON:
    if block not in EXAMPLES and not block.not_run and all(block.code != seen.code for seen in RUNNABLE):
        RUNNABLE.append(block)


def test_every_python_fence_of_every_page_is_read():
    for page in PAGES:
        opened = re.findall(r"^```[ \t]*(?:python\b|\{[ \t]*\.python\b)", expanded(page), re.M)
        assert len(opened) == len([block for block in blocks(page) if block.lang == "python"]), page


def test_the_pages_python_blocks_are_run_here_but_a_few_marked_with_why():
    assert {block.where.split(":")[0] for block in RUNNABLE} >= {
        "README.md",
        "docs/quickstart.md",
        "docs/operators.md",
        "docs/hook.md",
        "docs/sandbox.md",
    }
    not_run = {block.code: block.not_run for block in ALL_BLOCKS if block.not_run}  # each once, wherever shown
    assert len(not_run) <= 3 and all(len(why) > 10 for why in not_run.values()), not_run


def test_every_example_dag_is_shown_in_the_docs_from_the_file_the_suite_runs():
    shown = {EXAMPLE_INCLUDE.fullmatch(block.code.strip())[1] for block in EXAMPLES}
    assert shown == {str(path.relative_to(REPO)) for path in (REPO / "example_dags").glob("*.py")}
    examples_test = (REPO / "tests" / "integration" / "test_example_dags.py").read_text()
    assert all(f'"{Path(path).stem}"' in examples_test for path in shown)


def test_readme_links_work_on_a_package_index_too():
    # A package index shows the README without the source tree: a link goes to the web or to one of its headings.
    text = (REPO / "README.md").read_text()
    links = re.findall(r"\]\(([^)]*)\)", text) + re.findall(r'(?:href|src)="([^"]*)"', text)
    assert links and [link for link in links if not link.startswith(("https://", "#"))] == []
    slugs = {
        re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in re.findall(r"^#+ (.+)$", text, re.M)
    }
    assert [link for link in links if link.startswith("#") and link[1:] not in slugs] == []


WORKING_NOTES = {
    "a commit hash": r"(?<![\w-])(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}(?![\w-])",
    "an issue number of ours": r"\bissue #?\d+",
    "a path outside the repository": r"\.\./(?:\.\./)*\w[\w.-]*/",  # a folder: ../shared/..., not the id ../../escape
    "machine talk": r"\b\d+-core\b|\bon this machine\b",
    "a mutation score": r"mutants killed|% killed|mutation score",
    "a CI timing": r"\b\d+ min \d+ s\b",
}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_user_pages_carry_no_working_notes(page):
    text = expanded(page)
    found = {what: re.findall(pattern, text) for what, pattern in WORKING_NOTES.items()}
    assert {what: hits for what, hits in found.items() if hits} == {}


# The blocks, run against the sandbox in each profile.


def _last_run_state(dag_id: str) -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalars(select(DagRun.state).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())).first()


def _run_as_a_dag_file(block: Block, folder: Path) -> subprocess.CompletedProcess:
    """Run a block as a reader runs a DAG file: ``python <file>``, the file in their Airflow's DAGs folder."""
    dag_file = folder / f"{block.dag_id}.py"
    dag_file.write_text(block.code)
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    env.pop("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST")  # a reader's Airflow: the DAGs folder only
    return subprocess.run([sys.executable, str(dag_file)], env=env, capture_output=True, text=True, timeout=300)


def _first_dag_stored_its_video(sandbox, run_again: Callable[[], None]) -> None:
    [task_id] = sandbox.tasks
    [video] = stored_videos(task_id)
    assert video.read_bytes()[4:8] == b"ftyp"


def _hook_block_stored_the_fox_and_can_be_run_again(sandbox, run_again: Callable[[], None]) -> None:
    assert Path("/tmp/fox.mp4").read_bytes()[4:8] == b"ftyp"
    run_again()  # Kling's own API then hands back the task holding "fox-1"; CometAPI makes another
    assert len(sandbox.tasks) == (2 if sandbox.profile == "cometapi" else 1)


def _still_was_animated_then_extended(sandbox, run_again: Callable[[], None]) -> None:
    animation, extension = (sandbox.tasks[task_id] for task_id in sorted(sandbox.tasks))
    assert animation.endpoint == "image2video" and extension.endpoint == "video-extend"
    assert extension.body["video_id"] == f"{animation.task_id}-0"


def _the_cup_was_marked_and_swapped(sandbox, run_again: Callable[[], None]) -> None:
    scene, swap = (sandbox.tasks[task_id] for task_id in sorted(sandbox.tasks))
    assert scene.endpoint == "text2video" and swap.endpoint == "multi-elements"
    [session] = sandbox.sessions.values()
    assert swap.body["session_id"] == session.session_id and session.marked == {0: [{"x": 0.5, "y": 0.6}]}


def _the_faults_were_retried(sandbox, run_again: Callable[[], None]) -> None:
    stats = sandbox.stats()
    assert sum(stats["faults_served"].values()) == 2 and stats["faults_pending"] == 0 and len(sandbox.tasks) == 1


def _validated_without_sending(sandbox, run_again: Callable[[], None]) -> None:
    assert sandbox.stats()["requests"] == {}


#: What each block must have done beyond running without an error, by a text only it holds.
OUTCOMES = {
    'DAG("kling_first_video"': _first_dag_stored_its_video,
    'external_task_id="fox-1"': _hook_block_stored_the_fox_and_can_be_run_again,
    'DAG("kling_still_then_longer"': _still_was_animated_then_extended,
    'DAG("kling_swap_the_cup"': _the_cup_was_marked_and_swapped,
    "/_sandbox/faults": _the_faults_were_retried,
    'hook.validate("text2video"': _validated_without_sending,
}


def test_every_block_to_run_has_its_outcome_checked():
    assert [block.where for block in RUNNABLE if sum(key in block.code for key in OUTCOMES) != 1] == []


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda block: block.where)
def test_python_block_does_what_its_page_says_against_the_sandbox(block, sandbox, airflow_db, tmp_path):
    sandbox.render_seconds = 0  # the blocks poll every 10 s: let the first poll find the video
    still = Path("/tmp/still.png")  # the image a block names, as a reader would have it
    if str(still) in block.code:
        still.write_bytes((REPO / "example_dags" / "still.png").read_bytes())

    def run() -> None:
        if block.is_dag_file:
            ran = _run_as_a_dag_file(block, tmp_path)
            assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
            assert _last_run_state(block.dag_id) == "success", ran.stdout[-4000:] + ran.stderr[-4000:]
        else:
            exec(compile(block.code, block.where, "exec"), {"__name__": "__docs__"})

    try:
        run()
        [outcome] = [check for key, check in OUTCOMES.items() if key in block.code]
        outcome(sandbox, run)
    finally:
        still.unlink(missing_ok=True)
        Path("/tmp/fox.mp4").unlink(missing_ok=True)
        for task_id in sandbox.tasks:
            remove_stored(task_id)


# The site.


def test_the_site_builds_with_mkdocs_strict_and_shows_every_argument_table(tmp_path):
    built = subprocess.run(
        [Path(sys.executable).with_name("mkdocs"), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # Material's notice about its successor, not a warning
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    site = {
        path.relative_to(tmp_path / "site").as_posix(): path.read_text() for path in (tmp_path / "site").rglob("*.html")
    }
    for page, documented in {
        "operators/index.html": [
            "operators.kling.KlingVideoOperator",
            "operators.kling.KlingText2VideoOperator",
            "operators.image2video.KlingImage2VideoOperator",
            "operators.multi_image2video.KlingMultiImage2VideoOperator",
            "operators.video_extend.KlingVideoExtendOperator",
            "operators.omni_video.KlingOmniVideoOperator",
            "operators.multi_elements.KlingMultiElementsOperator",
            "operators.effects.KlingVideoEffectsOperator",
            "operators.lip_sync.KlingLipSyncOperator",
            "operators.lip_sync.KlingAdvancedLipSyncOperator",
            "operators.audio.KlingVideoToAudioOperator",
            "operators.audio.KlingTextToAudioOperator",
        ],
        "sensor/index.html": ["sensors.kling.KlingTaskSensor"],
        "triggers/index.html": ["triggers.kling.KlingTaskTrigger", "triggers.kling.KlingSlotTrigger"],
        "hook/index.html": ["hooks.kling.KlingHook"],
    }.items():
        for path in documented:
            heading = site[page].index(f'id="airflow_provider_kling.{path}"')
            assert "Parameters:" in site[page][heading : heading + 20000], path
    text = {page: html.unescape(re.sub(r"<[^>]+>", "", content)) for page, content in site.items()}
    # Sphinx's roles in the docstrings become links or code, never text; the includes are in place.
    assert [page for page, content in text.items() if re.search(r":(class|meth|func|data|attr):`", content)] == []
    assert "def prompts_of_the_day" in text["example-dags/index.html"]
    assert 'DAG("kling_first_video"' in text["quickstart/index.html"]
    assert "## [" not in text["changelog/index.html"] and "[0.1.0] - Unreleased" in text["changelog/index.html"]


def test_the_changelog_has_a_section_for_the_package_version():
    from airflow_provider_kling import __version__

    releases = re.findall(r"^## \[([^\]]+)\](?: - (.+))?$", (REPO / "CHANGELOG.md").read_text(), re.M)
    assert releases[0][0] == __version__, releases
