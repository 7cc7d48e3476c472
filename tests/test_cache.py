"""Remembered answers and vectors: the same as computed ones, bounded, and never stale."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from service.cache import LRUCache
from service.encoder import CachedEncoder, Encoder
from service.engine import Engine
from tests.indexes import offer, served_copy


def test_the_least_recently_used_value_goes_first() -> None:
    lookups: list[bool] = []
    cache: LRUCache[str, int] = LRUCache(2, observe=lookups.append)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the least recently used
    cache.put("c", 3)
    assert (cache.get("b"), cache.get("a"), cache.get("c")) == (None, 1, 3)
    assert len(cache) == 2
    assert lookups == [True, False, True, True]


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache: LRUCache[str, int] = LRUCache(0)
    cache.put("a", 1)
    assert cache.get("a") is None and len(cache) == 0
    with pytest.raises(ValueError, match="0 \\(no cache\\) or more"):
        LRUCache(-1)


def test_remembered_vectors_are_the_encoders_own(encoder: Encoder) -> None:
    cached = CachedEncoder(encoder, 8)
    texts = ["Who owns the backlog?", "backlog", "Who owns the backlog?"]
    first = cached.encode(texts)
    np.testing.assert_allclose(first, encoder.encode(texts), atol=1e-5)
    np.testing.assert_array_equal(cached.encode(texts[::-1]), first[::-1])
    assert cached.encode([]).shape == (0, encoder.dim)


def test_a_repeated_question_gets_the_remembered_answer(index_dir: Path, encoder: Encoder) -> None:
    lookups: list[bool] = []
    engine = Engine.open(index_dir, encoder=encoder, cache_size=16, on_cache=lookups.append)
    first = engine.search("Who represents the customer?", 3)
    again = engine.search("Who represents the customer?", 3)
    other_k = engine.search("Who represents the customer?", 5)
    assert lookups == [False, True, False]
    assert again.hits == first.hits and again.answer_role == first.answer_role
    assert len(other_k.hits) == 5


def test_recall_gives_only_what_find_remembered(index_dir: Path, encoder: Encoder) -> None:
    lookups: list[bool] = []
    engine = Engine.open(index_dir, encoder=encoder, cache_size=16, on_cache=lookups.append)
    assert engine.recall("Who represents the customer?", 3) is None
    found = engine.find("Who represents the customer?", 3)
    recalled = engine.recall("Who represents the customer?", 3)
    assert recalled is not None and recalled.hits == found.hits
    assert engine.recall("Who represents the customer?", 4) is None
    assert engine.find("Who represents the customer?", 3).hits == found.hits  # searched again
    assert lookups == [False, True, False]  # find never looks


def test_a_reload_forgets_the_old_versions_answers(
    index_dir: Path, tmp_path: Path, encoder: Encoder
) -> None:
    served_copy(index_dir, tmp_path / "index")
    root = tmp_path / "index"
    engine = Engine.open(root, encoder=encoder, cache_size=16)
    before = engine.search("Who represents the customer?")
    new = offer(root)
    assert engine.reload().changed
    after = engine.search("Who represents the customer?")
    assert {h.passage.id for h in after.hits} == {h.passage.id for h in before.hits}
    assert engine.searcher.index.version == new.name
    assert len(engine.answers) == 1  # only the new version's answer
