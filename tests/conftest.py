"""Shared fixtures: the real model, a real index of the bundled corpus, the real app."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from fastapi.testclient import TestClient

from service.api import create_app
from service.encoder import Encoder, TorchEncoder
from service.engine import Engine
from service.export import export_onnx
from service.index import build
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return TorchEncoder()


@pytest.fixture(scope="session")
def onnx_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The int8 ONNX encoder a build exports, exported once per test session."""
    return export_onnx(tmp_path_factory.mktemp("export") / "encoder")


@pytest.fixture(scope="session")
def index_dir(
    tmp_path_factory: pytest.TempPathFactory, encoder: Encoder, onnx_export: Path
) -> Path:
    """An index of the bundled corpus, built once per test session; it carries the ONNX
    encoder, so it can be served as `roleqa serve` serves by default."""
    root = tmp_path_factory.mktemp("index")
    build(CORPUS, root, encoder, encoder_files=onnx_export)
    return root


@pytest.fixture(scope="session")
def engine(index_dir: Path, encoder: Encoder) -> Engine:
    return Engine.open(index_dir, encoder=encoder)


@pytest.fixture(scope="session")
def settings(index_dir: Path) -> Settings:
    return Settings(index_dir=index_dir, corpus_dir=CORPUS)


@pytest.fixture()
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, engine)) as c:
        yield c
