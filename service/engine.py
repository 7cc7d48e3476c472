"""The served state: one encoder and the searcher over the index in use, loaded and checked."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from service.encoder import Encoder, TorchEncoder
from service.index import IndexRefused, load, resolve
from service.search import SearchConfig, Searcher

# A passage re-encoded by the serving model must come out (nearly) as the index stored it;
# lenient enough for a faster backend of the same model, far above what another model gives.
SAME_MODEL_COSINE = 0.9


@dataclass(frozen=True)
class Reload:
    previous: str
    current: str
    passages: int

    @property
    def changed(self) -> bool:
        return self.previous != self.current


@dataclass
class Engine:
    """Owns the encoder and the current searcher; the same object serves HTTP, CLI and eval.

    A request reads `searcher` once and keeps what it got: `reload` builds the new searcher to
    the side and swaps it in with one assignment, so no request sees half of either index.
    """

    encoder: Encoder
    index_dir: Path
    searcher: Searcher
    _reloading: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    @classmethod
    def open(
        cls,
        index_dir: Path,
        model_path: Path | None = None,
        config: SearchConfig | None = None,
        encoder: Encoder | None = None,
    ) -> Engine:
        encoder = encoder or TorchEncoder(model_path)
        index = load(index_dir, encoder.model_id, encoder.dim)
        searcher = Searcher(index, encoder, config)
        self_check(searcher)
        return cls(encoder, index_dir, searcher)

    def reload(self) -> Reload:
        """Serve the version the index pointer names now, if it loads and passes its self-check;
        raise IndexRefused (and keep serving the old one) if not."""
        with self._reloading:
            old = self.searcher
            if resolve(self.index_dir) == old.index.path:
                return Reload(old.index.version, old.index.version, len(old.index.passages))
            index = load(self.index_dir, self.encoder.model_id, self.encoder.dim)
            searcher = Searcher(index, self.encoder, old.config)
            self_check(searcher)
            self.searcher = searcher
            return Reload(old.index.version, index.version, len(index.passages))


def self_check(searcher: Searcher) -> None:
    """Refuse an index that loads but would answer wrongly: for a few of its passages, the
    encoder must give back the vector the index stored (the same model, vectors intact), and
    the passage's first sentence, asked as a question, must find it (search works end to end)."""
    index = searcher.index
    n = len(index.passages)
    if n == 0:
        raise IndexRefused(f"the index at {index.path} has no passages")
    rows = sorted({0, n // 2, n - 1})
    probes = [index.passages[i] for i in rows]
    stored = np.vstack([index.dense.reconstruct(i) for i in rows])
    cosine = float((searcher.encoder.encode([p.text for p in probes]) * stored).sum(axis=1).min())
    if cosine < SAME_MODEL_COSINE:
        raise IndexRefused(
            f"the index at {index.path} fails its self-check: its vectors are not the serving "
            f"model's (cosine {cosine:.2f})"
        )
    for p in probes:
        question = (p.sentence_texts() or [p.text])[0]
        if p.id not in {h.passage.id for h in searcher.search(question, 5).hits}:
            raise IndexRefused(
                f"the index at {index.path} fails its self-check: a sentence of {p.id} does "
                "not find its own passage"
            )
