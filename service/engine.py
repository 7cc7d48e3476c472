"""The served state: one encoder and the searcher over the index in use, loaded and checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from service.encoder import Encoder, TorchEncoder
from service.index import load
from service.search import SearchConfig, Searcher


@dataclass
class Engine:
    """Owns the encoder and the current searcher; the same object serves HTTP, CLI and eval."""

    encoder: Encoder
    index_dir: Path
    searcher: Searcher

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
        return cls(encoder, index_dir, Searcher(index, encoder, config))
