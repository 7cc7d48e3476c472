"""Index copies to damage, offer and reload, without touching the session's own index."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import faiss
import numpy as np

from service.index import point_to, resolve


def served_copy(index_dir: Path, root: Path) -> Path:
    """A copy of the session index's version under a root of its own; the copy's folder."""
    version = resolve(index_dir)
    root.mkdir(parents=True)
    copy = root / version.name
    shutil.copytree(version, copy)
    point_to(root, copy)
    return copy


def offer(root: Path, damage: Callable[[Path], None] | None = None) -> Path:
    """A new version beside the one in use (a copy under a later name, perhaps damaged), made
    current the way a build makes it current."""
    new = root / f"v-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
    shutil.copytree(resolve(root), new)
    if damage is not None:
        damage(new)
    point_to(root, new)
    return new


def corrupt(version: Path) -> None:
    (version / "dense.faiss").write_bytes(bytes(range(256)) * 64)


def truncate(version: Path) -> None:
    data = (version / "sentences.faiss").read_bytes()
    (version / "sentences.faiss").write_bytes(data[: len(data) // 2])


def mismatch(version: Path) -> None:
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    manifest["model"]["id"] = "another/model"
    (version / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def scramble(version: Path) -> None:
    """Whole and well-formed, but every passage has another passage's vector."""
    dense = faiss.read_index(str(version / "dense.faiss"))
    vectors = dense.reconstruct_n(0, dense.ntotal)
    shuffled = faiss.IndexFlatIP(dense.d)
    shuffled.add(np.ascontiguousarray(np.roll(vectors, 1, axis=0)))
    faiss.write_index(shuffled, str(version / "dense.faiss"))


def remove(version: Path) -> None:
    shutil.rmtree(version.parent)
    version.parent.mkdir()
