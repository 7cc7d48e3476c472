"""The served state: one encoder and the searcher over the index in use, loaded and checked."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np

from service.cache import LRUCache
from service.encoder import (
    ONNX_MODEL,
    Backend,
    CachedEncoder,
    Encoder,
    OnnxEncoder,
    TorchEncoder,
)
from service.extras import require_build_extra
from service.index import ENCODER_DIR, IndexRefused, load, resolve
from service.search import Answer, SearchConfig, Searcher

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
    # Answers by (index version, question, top_k, role); emptied when another version serves.
    answers: LRUCache[tuple[str, str, int, str | None], Answer] = field(
        default_factory=lambda: LRUCache(0)
    )
    # The encoder a version folder is served with (its own ONNX export); None: always `encoder`.
    encoder_for: Callable[[Path], Encoder] | None = None
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
        backend: Backend = "onnx",
        threads: int = 1,
        alone_threads: int = 1,
        cache_size: int = 0,
        on_cache: Callable[[bool], None] | None = None,
    ) -> Engine:
        """The engine for the index at `index_dir`; `encoder`, if given, serves every version.

        Otherwise the `onnx` backend serves each version with the encoder exported into it
        (no torch needed), on `threads` threads a text and `alone_threads` for a question
        asked within `all_cores()`; and `torch` with the model at `model_path` (the packaged
        one). Both remember the vectors of the last `cache_size` texts, as the engine does its
        answers.
        The `torch` backend needs the `build` extra: without it, ExtraMissing.
        """
        encoder_for = None
        if encoder is None and backend == "onnx":
            encoder_for = partial(
                onnx_encoder, threads=threads, alone_threads=alone_threads, cache_size=cache_size
            )
        version = resolve(index_dir)
        if encoder is None:
            if encoder_for:
                encoder = encoder_for(version)
            else:
                require_build_extra("ROLEQA_ENCODER=torch")
                encoder = remembering(TorchEncoder(model_path), cache_size)
        index = load(version, encoder.model_id, encoder.dim)
        searcher = Searcher(index, encoder, config)
        self_check(searcher)
        return cls(encoder, index_dir, searcher, LRUCache(cache_size, on_cache), encoder_for)

    def search(
        self,
        question: str,
        top_k: int = 5,
        role: str | None = None,
        searcher: Searcher | None = None,
    ) -> Answer:
        """The answer of `searcher` (by default the one serving now), remembered for next time.

        `took_ms` is this call's own time, so a remembered answer says how fast it came back.
        """
        return self.recall(question, top_k, role, searcher) or self.find(
            question, top_k, role, searcher
        )

    def recall(
        self,
        question: str,
        top_k: int = 5,
        role: str | None = None,
        searcher: Searcher | None = None,
    ) -> Answer | None:
        """The answer remembered for this very question, if any: no work, so the HTTP layer
        asks here first, on its event loop, before it hands a search to a thread."""
        started = time.perf_counter()
        s = searcher or self.searcher
        answer = self.answers.get(_key(s, question, top_k, role))
        return None if answer is None else replace(answer, took_ms=_ms_since(started))

    def find(
        self,
        question: str,
        top_k: int = 5,
        role: str | None = None,
        searcher: Searcher | None = None,
    ) -> Answer:
        """Search, without looking among the remembered answers first, and remember it."""
        started = time.perf_counter()
        s = searcher or self.searcher
        answer = s.search(question, top_k, role)
        self.answers.put(_key(s, question, top_k, role), answer)
        return replace(answer, took_ms=_ms_since(started))

    def reload(self) -> Reload:
        """Serve the version the index pointer names now, if it loads and passes its self-check;
        raise IndexRefused (and keep serving the old one) if not."""
        with self._reloading:
            old = self.searcher
            version = resolve(self.index_dir)
            if version == old.index.path:
                return Reload(old.index.version, old.index.version, len(old.index.passages))
            encoder = self.encoder_for(version) if self.encoder_for else self.encoder
            index = load(version, encoder.model_id, encoder.dim)
            searcher = Searcher(index, encoder, old.config)
            self_check(searcher)
            self.encoder, self.searcher = encoder, searcher
            self.answers.clear()
            return Reload(old.index.version, index.version, len(index.passages))


def _key(
    searcher: Searcher, question: str, top_k: int, role: str | None
) -> tuple[str, str, int, str | None]:
    """What a remembered answer is filed under: a reload to another version forgets it."""
    return searcher.index.version, question, top_k, role


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def self_check(searcher: Searcher) -> None:
    """Refuse an index that loads but would answer wrongly: for a few of its passages, the
    encoder must give back the vector the index stored (the same model, vectors intact), and
    the passage's first sentence, asked as a question, must find a passage holding it (search
    works end to end)."""
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
        # Its own passage, or another holding the same words (a notice repeated many times).
        if not any(question in h.passage.text for h in searcher.search(question, 5).hits):
            raise IndexRefused(
                f"the index at {index.path} fails its self-check: a sentence of {p.id} does "
                "not find a passage holding it"
            )


def remembering(encoder: Encoder, cache_size: int) -> Encoder:
    return CachedEncoder(encoder, cache_size) if cache_size else encoder


def onnx_encoder(
    version: Path, threads: int, alone_threads: int = 1, cache_size: int = 0
) -> Encoder:
    """The ONNX encoder exported into an index version by `roleqa build`."""
    folder = version / ENCODER_DIR
    if not (folder / ONNX_MODEL).is_file():
        raise IndexRefused(
            f"the index at {version} has no exported encoder ({ENCODER_DIR}/): rebuild it with "
            "`roleqa build`, or serve it with ROLEQA_ENCODER=torch"
        )
    try:
        return remembering(OnnxEncoder(folder, threads, alone_threads), cache_size)
    except RuntimeError as exc:
        raise IndexRefused(f"the index at {version} has a damaged encoder ({exc})") from exc
