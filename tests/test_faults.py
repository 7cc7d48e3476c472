"""A damaged or absent index is refused at start, with one sentence and no traceback."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.indexes import corrupt, mismatch, remove, served_copy, truncate
from tests.live import roleqa

DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "corrupt": (corrupt, "is corrupt or incomplete"),
    "truncated": (truncate, "is corrupt or incomplete"),
    "mismatched": (mismatch, "was built with model {'id': 'another/model'"),
    "missing": (remove, "there is no index at"),
}


@pytest.fixture(scope="module")
def refusals(
    index_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess[str]]:
    """`roleqa serve` on each damaged index, all started at once (each loads the model)."""
    started = {}
    for name, (damage, _) in DAMAGE.items():
        version = served_copy(index_dir, tmp_path_factory.mktemp("faults") / name)
        damage(version)
        started[name] = roleqa("serve", "--index", str(version.parent), "--port", "0")
    done = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=300)
        done[name] = subprocess.CompletedProcess(process.args, process.returncode, out, err)
    return done


@pytest.mark.parametrize("fault", list(DAMAGE))
def test_a_bad_index_is_refused_at_start_with_one_sentence(
    fault: str, refusals: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    result = refusals[fault]
    said = [line for line in result.stderr.splitlines() if line.startswith("roleqa:")]
    assert result.returncode != 0
    assert len(said) == 1, result.stderr
    assert DAMAGE[fault][1] in said[0]
    assert "Traceback" not in result.stderr
    assert "Uvicorn running" not in result.stderr
