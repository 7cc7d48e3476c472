"""The fast encoder: exported by the build, faithful to torch, and served without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from service.encoder import (
    ENCODER_CONFIG,
    ONNX_MODEL,
    TOKENIZER,
    Encoder,
    OnnxEncoder,
    all_cores,
    session_options,
)
from service.engine import Engine
from service.evaluation import load_questions
from service.export import EXPORT_FORMAT
from service.index import ENCODER_DIR, IndexRefused, build, load, resolve, sha256_file
from tests.conftest import CORPUS, ROOT, SHARED
from tests.indexes import served_copy
from tests.live import roleqa

MEAN_COSINE = 0.99
LOWEST_COSINE = 0.98


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Path:
    """An index from before the export, brought up to date by `roleqa build --if-stale` as
    `make run` does; the new version's folder."""
    root = tmp_path_factory.mktemp("built")
    old = build(CORPUS, root, encoder)
    rebuild = roleqa("build", "--corpus", str(CORPUS), "--index", str(root), "--if-stale")
    _, stderr = rebuild.communicate(timeout=900)
    assert rebuild.returncode == 0, stderr
    assert resolve(root) != old, stderr
    assert "passages about each role: SAFe Product Manager " in stderr
    return resolve(root)


@pytest.fixture(scope="module")
def fast(built: Path) -> OnnxEncoder:
    return OnnxEncoder(built / ENCODER_DIR, alone_threads=2)


def dev_questions() -> list[str]:
    return [q.question for q in load_questions(SHARED / "eval" / "seed_dev.jsonl")]


def passages(version: Path) -> list[str]:
    lines = (version / "passages.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["text"] for line in lines]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


def test_the_build_ships_an_int8_onnx_encoder_and_records_it(built: Path) -> None:
    folder = built / ENCODER_DIR
    manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["encoder"]["embedded_by"] == "onnx"
    record = manifest["encoder"]["export"]
    assert record["folder"] == ENCODER_DIR
    assert set(record["files"]) == {ONNX_MODEL, TOKENIZER, ENCODER_CONFIG}
    for name, digest in record["files"].items():
        assert sha256_file(folder / name) == digest
    ops = {node.op_type for node in onnx.load(str(folder / ONNX_MODEL)).graph.node}
    assert ops & {"MatMulInteger", "QAttention"}, ops  # its weights are int8
    assert record["format"] == EXPORT_FORMAT


def test_the_graph_that_runs_has_none_of_the_slow_fused_operators(
    built: Path, tmp_path: Path
) -> None:
    """onnxruntime ignores an optimiser name it does not know: check what it really runs."""
    options = session_options(threads=1)
    options.optimized_model_filepath = str(tmp_path / "as-run.onnx")
    ort.InferenceSession(str(built / ENCODER_DIR / ONNX_MODEL), options)
    ops = {node.op_type for node in onnx.load(options.optimized_model_filepath).graph.node}
    assert "LayerNormalization" in ops and "Gelu" in ops, ops
    assert not ops & {"SkipLayerNormalization", "BiasGelu", "FastGelu"}, ops


@pytest.mark.parametrize("texts", ["dev questions", "corpus passages"])
def test_the_onnx_encoder_agrees_with_torch(
    texts: str, built: Path, fast: OnnxEncoder, encoder: Encoder
) -> None:
    sample = dev_questions() if texts == "dev questions" else passages(built)
    agreement = cosines(fast.encode(sample), encoder.encode(sample))
    assert agreement.mean() >= MEAN_COSINE, agreement.mean()
    assert agreement.min() >= LOWEST_COSINE, (agreement.min(), sample[int(agreement.argmin())])


def test_a_text_gets_the_same_vector_alone_or_among_others(fast: OnnxEncoder) -> None:
    texts = ["Who owns the backlog?", "PO", "How does the Product Manager work with the ARTs?"]
    together = fast.encode(texts)
    alone = np.vstack([fast.encode([t]) for t in texts])
    np.testing.assert_array_equal(together, alone)
    assert fast.encode([]).shape == (0, fast.dim)


class Runs:
    """An onnxruntime session that counts its runs."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session, self.runs = session, 0

    def run(self, *args: object) -> object:
        self.runs += 1
        return self.session.run(*args)


def test_a_question_asked_alone_runs_on_every_core_to_the_same_vector(
    built: Path, fast: OnnxEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert fast.alone_session.get_session_options().intra_op_num_threads == 2
    one_core = OnnxEncoder(built / ENCODER_DIR)
    assert one_core.alone_session is one_core.session  # one thread alone too: no second session
    runs = Runs(fast.alone_session)
    monkeypatch.setattr(fast, "alone_session", runs)
    questions = dev_questions()
    with all_cores():
        alone = np.vstack([fast.encode([q]) for q in questions])
    assert runs.runs == len(questions)
    np.testing.assert_array_equal(alone, fast.encode(questions))
    assert runs.runs == len(questions)  # several texts run one per core, on the other session


def test_the_index_holds_the_vectors_its_own_encoder_gives(built: Path, fast: OnnxEncoder) -> None:
    stored = load(built, fast.model_id, fast.dim).dense.reconstruct_n(0, 5)
    np.testing.assert_allclose(fast.encode(passages(built)[:5]), stored, atol=1e-6)


def test_the_torch_backend_still_serves_and_ranks_alike(built: Path) -> None:
    questions = dev_questions()
    top = {}
    for backend in ("onnx", "torch"):
        engine = Engine.open(built.parent, backend=backend)
        assert engine.encoder.backend == backend
        top[backend] = [a.hits[0].passage.id for a in engine.searcher.search_many(questions, 1)]
    same = sum(a == b for a, b in zip(top["onnx"], top["torch"], strict=True))
    assert same >= 0.9 * len(questions), (same, len(questions))


def test_an_index_without_an_export_is_refused_for_onnx_in_one_sentence(
    index_dir: Path, tmp_path: Path, encoder: Encoder
) -> None:
    copy = served_copy(index_dir, tmp_path / "old")
    for f in (copy / ENCODER_DIR).iterdir():
        f.unlink()
    (copy / ENCODER_DIR).rmdir()
    with pytest.raises(IndexRefused, match="no exported encoder") as refused:
        Engine.open(copy.parent, backend="onnx")
    assert "ROLEQA_ENCODER=torch" in str(refused.value)
    assert Engine.open(copy.parent, encoder=encoder).searcher.search("Who owns the backlog?").hits


SERVE_AND_LIST_TORCH = """
import sys
import service.cli  # noqa: F401  (what `roleqa serve` imports)
from fastapi.testclient import TestClient
from service.api import app_from_env

with TestClient(app_from_env()) as client:
    answer = client.get("/search", params={"q": "Who represents the customer?"})
    assert answer.status_code == 200 and answer.json()["passages"], answer.text
heavy = {"torch", "transformers", "sentence_transformers"}
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
"""


def test_serving_never_imports_torch(built: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "ROLEQA_INDEX_DIR": str(built.parent),
        "ROLEQA_ENCODER": "onnx",
    }
    run = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LIST_TORCH],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
