"""The repository stands on its own: nothing in it sends the reader outside the checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def test_no_tracked_file_points_at_the_workspace_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=CHECKOUT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "docs/DESIGN.md" in tracked
    outside = []
    for name in tracked:
        path = CHECKOUT / name
        if name == Path(__file__).relative_to(CHECKOUT).as_posix() or not path.is_file():
            continue
        text = path.read_text(errors="ignore")
        if "../shared" in text or "shared/seed" in text or "shared/DESIGN" in text:
            outside.append(name)
    assert outside == []
