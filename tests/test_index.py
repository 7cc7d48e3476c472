"""The built artifact: what it records, how it round-trips, and every refusal."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.documents import read_corpus
from service.encoder import MODEL_ID, Encoder
from service.engine import Engine
from service.export import EXPORT_FORMAT
from service.index import (
    CURRENT,
    IndexRefused,
    build,
    load,
    make_passages,
    prune,
    read_manifest,
    rebuild_reason,
    resolve,
    role_counts,
    versions,
)
from service.roles import RoleBook
from tests.conftest import CORPUS


def fresh_copy(index_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / "index"
    shutil.copytree(index_dir, target)
    return target


def test_manifest_records_what_the_index_was_built_from(index_dir: Path) -> None:
    manifest = json.loads((resolve(index_dir) / "manifest.json").read_text())
    assert manifest["format_version"] == 1
    assert manifest["model"] == {"id": MODEL_ID, "dim": 384}
    assert manifest["corpus"]["dir"] == str(CORPUS.resolve())
    assert set(manifest["corpus"]["files"]) == {"safe-pm-vs-po.txt"}
    assert len(manifest["corpus"]["roles_sha256"]) == 64
    assert manifest["passages"] == 36
    about = manifest["about"]
    assert set(about) == {"SAFe Product Manager", "Product Owner", "shared", "none"}
    assert sum(about.values()) == 36 and about["SAFe Product Manager"] and about["Product Owner"]
    assert {"faiss-cpu", "bm25s", "numpy"} <= set(manifest["libraries"])
    assert manifest["built_at"]


def test_index_round_trips(index_dir: Path) -> None:
    index = load(index_dir, MODEL_ID, 384)
    text = (CORPUS / "safe-pm-vs-po.txt").read_text(encoding="utf-8")
    assert len(index.passages) == index.dense.ntotal == 36
    assert all(text[p.start : p.end] == p.text for p in index.passages)
    assert all(p.role is not None and p.role_scores for p in index.passages)
    assert index.roles.names == ["SAFe Product Manager", "Product Owner"]


def test_missing_index_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IndexRefused, match="there is no index"):
        load(tmp_path / "nowhere", MODEL_ID, 384)


def test_corrupt_manifest_is_refused(index_dir: Path, tmp_path: Path) -> None:
    root = fresh_copy(index_dir, tmp_path)
    (resolve(root) / "manifest.json").write_text("{not json")
    with pytest.raises(IndexRefused, match="corrupt manifest"):
        load(root, MODEL_ID, 384)


def test_truncated_vectors_are_refused(index_dir: Path, tmp_path: Path) -> None:
    root = fresh_copy(index_dir, tmp_path)
    faiss_file = resolve(root) / "dense.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:1000])
    with pytest.raises(IndexRefused, match="corrupt or incomplete"):
        load(root, MODEL_ID, 384)


def test_missing_part_is_refused(index_dir: Path, tmp_path: Path) -> None:
    root = fresh_copy(index_dir, tmp_path)
    (resolve(root) / "passages.jsonl").unlink()
    with pytest.raises(IndexRefused, match="corrupt or incomplete"):
        load(root, MODEL_ID, 384)


def test_a_manifest_whose_people_are_not_names_to_roles_is_refused(
    index_dir: Path, tmp_path: Path
) -> None:
    root = fresh_copy(index_dir, tmp_path)
    manifest = read_manifest(resolve(root))
    (resolve(root) / "manifest.json").write_text(json.dumps({**manifest, "people": ["Gary"]}))
    with pytest.raises(IndexRefused, match="people are not a table of names to roles"):
        load(root, MODEL_ID, 384)


def test_index_of_another_model_is_refused(index_dir: Path) -> None:
    with pytest.raises(IndexRefused, match="built with model"):
        load(index_dir, "another/model", 384)
    with pytest.raises(IndexRefused, match="built with model"):
        load(index_dir, MODEL_ID, 768)


def test_stale_index_is_refused_and_rebuilt(tmp_path: Path, encoder: Encoder) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    root = tmp_path / "index"
    build(corpus, root, encoder)
    load(root, MODEL_ID, 384)
    with (corpus / "safe-pm-vs-po.txt").open("a") as f:
        f.write("\n\nOne more paragraph about the Product Owner.\n")
    with pytest.raises(IndexRefused, match="stale"):
        load(root, MODEL_ID, 384)
    build(corpus, root, encoder)
    assert any("One more paragraph" in p.text for p in load(root, MODEL_ID, 384).passages)
    (corpus / "roles.toml").write_text('[[role]]\nname = "Product Owner"\n')
    with pytest.raises(IndexRefused, match=r"roles\.toml has changed"):
        load(root, MODEL_ID, 384)


def test_builds_switch_the_pointer_and_keep_two_versions(index_dir: Path, tmp_path: Path) -> None:
    root = fresh_copy(index_dir, tmp_path)
    first = resolve(root)
    for n in range(3):
        (root / f"v-29990101T00000{n}Z").mkdir()
        shutil.copytree(first, root / f"v-29990101T00000{n}Z", dirs_exist_ok=True)
    (root / CURRENT).write_text("v-29990101T000002Z\n")
    prune(root)
    assert [v.name for v in versions(root)] == ["v-29990101T000001Z", "v-29990101T000002Z"]
    assert resolve(root).name == "v-29990101T000002Z"


def test_build_refuses_a_corpus_without_roles_or_documents(
    tmp_path: Path, encoder: Encoder
) -> None:
    with pytest.raises(IndexRefused, match="does not exist"):
        build(tmp_path / "none", tmp_path / "i", encoder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexRefused, match=r"no roles\.toml"):
        build(tmp_path / "empty", tmp_path / "i", encoder)
    (tmp_path / "empty" / "roles.toml").write_text('[[role]]\nname = "A"\n')
    with pytest.raises(IndexRefused, match=r"no \.txt or \.md files"):
        build(tmp_path / "empty", tmp_path / "i", encoder)


def test_boilerplate_repeated_many_times_passes_the_self_check(
    tmp_path: Path, encoder: Encoder
) -> None:
    """A long repeated notice becomes many passages of the same text: a sentence of one of
    them finds one of its twins, which is as good as finding itself."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "roles.toml").write_text('[[role]]\nname = "Clerk"\n', encoding="utf-8")
    notice = "Printed copies of this guide are uncontrolled and must not be relied on. " * 300
    (corpus / "guide.txt").write_text(
        f"The clerk files the forms every Friday.\n\n{notice}\n", encoding="utf-8"
    )
    build(corpus, tmp_path / "index", encoder)
    searcher = Engine.open(tmp_path / "index", encoder=encoder).searcher
    assert len({p.text for p in searcher.index.passages}) < len(searcher.index.passages)


def test_an_index_is_built_again_when_the_code_that_builds_it_changes(index_dir: Path) -> None:
    """`roleqa build --if-stale` (as `make run` calls it) keeps an index only if the same
    corpus, roles, encoder export and building code would make it again."""
    manifest = read_manifest(resolve(index_dir))
    assert rebuild_reason(manifest, CORPUS, EXPORT_FORMAT) is None
    older_code = {**manifest, "builder": "0123456789abcdef"}
    assert rebuild_reason(older_code, CORPUS, EXPORT_FORMAT) == "it was built by other code"
    assert "older format" in str(rebuild_reason(manifest, CORPUS, EXPORT_FORMAT + 1))
    assert "another folder" in str(rebuild_reason(manifest, CORPUS / "elsewhere", EXPORT_FORMAT))


def test_a_role_no_passage_is_about_is_counted_as_none(tmp_path: Path) -> None:
    """So that `roleqa build` can warn of a role whose name the documents do not use."""
    (tmp_path / "guide.md").write_text("# Guide\n\nThe chef writes the menu.\n", encoding="utf-8")
    book = RoleBook.from_dict({"role": [{"name": "Chef"}, {"name": "Sommelier"}]})
    passages, _ = make_passages(read_corpus(tmp_path), book)
    assert role_counts(passages, book) == {"Chef": 1, "Sommelier": 0, "shared": 0, "none": 0}
