"""What the documentation tests share: reading fenced blocks and snippet sections, and cleaning up what blocks store."""

from __future__ import annotations

import re
from pathlib import Path

#: A fenced block, with the "not run" mark that may stand on the line above it. Its language comes first in its info
#: string, or as the first class in braces (``{ .python title="..." }``, which ruff's Markdown formatting leaves alone).
FENCE = re.compile(
    r"(?:^<!-- not run: (?P<why>.+?) -->\n)?^```[ \t]*(?:\{[ \t]*\.)?(?P<lang>[\w-]*)[^\n]*\n(?P<code>.*?)^```[ \t]*$",
    re.M | re.S,
)


def section(text: str, name: str) -> str:
    """The lines between ``--8<-- [start:name]`` and ``--8<-- [end:name]``, as pymdownx.snippets cuts them."""
    lines = text.splitlines(keepends=True)
    [start] = [i for i, line in enumerate(lines) if f"--8<-- [start:{name}]" in line]
    [end] = [i for i, line in enumerate(lines) if f"--8<-- [end:{name}]" in line]
    return "".join(lines[start + 1 : end])


def stored_videos(task_id: str) -> list[Path]:
    """The videos a docs block stored for a Kling task, under the folder the docs name."""
    return sorted(Path("/tmp/kling-videos").glob(f"*/{task_id}_*.mp4"))


def remove_stored(task_id: str) -> None:
    """Remove what a block stored for a task, and the folders it made if nothing else is in them."""
    for video in stored_videos(task_id):
        video.unlink()
        for folder in (video.parent, video.parent.parent):
            try:
                folder.rmdir()
            except OSError:  # not empty: another run's videos
                break
