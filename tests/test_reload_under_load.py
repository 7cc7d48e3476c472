"""Rebuild and reload ten times under steady load: nothing fails, no answer mixes versions."""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from service.encoder import Encoder
from service.index import ROLES_FILE, build
from tests.live import serving

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
ARTICLE = CORPUS / "safe-pm-vs-po.txt"
CONCURRENCY = 8
RELOADS = 10
QUESTIONS = [
    "Who represents the customer?",
    "What does a SAFe Product Manager do?",
    "Who manages several Agile Release Trains?",
    "What is the Product Owner responsible for?",
    "How do the two roles differ?",
    "Who sets the product strategy?",
]


def corpus_version(tmp: Path, n: int) -> Path:
    """A corpus whose every passage names version `n` in its source: the opening of the bundled
    article (enough to answer, quick to build) as `part-<n>.txt`."""
    folder = tmp / f"corpus-{n}"
    folder.mkdir()
    paragraphs = ARTICLE.read_text(encoding="utf-8").split("\n\n")[:20]
    (folder / f"part-{n}.txt").write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    shutil.copyfile(CORPUS / ROLES_FILE, folder / ROLES_FILE)
    return folder


@dataclass
class Traffic:
    answers: list[tuple[str, set[str]]] = field(default_factory=list)  # (version, sources)
    failures: list[str] = field(default_factory=list)


async def keep_asking(
    client: httpx.AsyncClient, worker: int, stop: asyncio.Event, seen: Traffic
) -> None:
    n = worker
    while not stop.is_set():
        question = QUESTIONS[n % len(QUESTIONS)]
        n += 1
        try:
            if n % 2:
                r = await client.get("/search", params={"q": question, "k": 5})
            else:
                r = await client.post("/ask", json={"question": question, "top_k": 5})
        except httpx.HTTPError as exc:
            seen.failures.append(f"{question!r}: {exc!r}")
            continue
        if r.status_code != 200:
            seen.failures.append(f"{question!r}: {r.status_code} {r.text}")
            continue
        seen.answers.append(
            (r.headers["x-index-version"], {p["source"] for p in r.json()["passages"]})
        )


async def rebuild_and_reload(
    url: str, root: Path, corpora: list[Path], encoder: Encoder
) -> tuple[Traffic, dict[str, str]]:
    source_of = {}
    seen = Traffic()
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        workers = [
            asyncio.create_task(keep_asking(client, w, stop, seen)) for w in range(CONCURRENCY)
        ]
        for n, corpus in enumerate(corpora[1:], start=1):
            version = await asyncio.to_thread(build, corpus, root, encoder)
            source_of[version.name] = f"part-{n}.txt"
            r = await client.post("/admin/reload")
            assert r.status_code == 200, r.text
            assert r.json()["version"] == version.name
        last = len(seen.answers)
        for _ in range(600):  # the last version, too, answers under load
            if len(seen.answers) >= last + CONCURRENCY or seen.failures:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*workers)
    return seen, source_of


def test_reloads_under_load_lose_no_request_and_mix_no_versions(
    tmp_path: Path, encoder: Encoder
) -> None:
    root = tmp_path / "index"
    corpora = [corpus_version(tmp_path, n) for n in range(RELOADS + 1)]
    first = build(corpora[0], root, encoder)
    # Its versions are built here without the ONNX export, so they are served with torch.
    with serving(root, env={"ROLEQA_RATE_LIMIT": "", "ROLEQA_ENCODER": "torch"}) as server:
        seen, source_of = asyncio.run(rebuild_and_reload(server.url, root, corpora, encoder))
    source_of[first.name] = "part-0.txt"

    assert seen.failures == []
    assert len(source_of) == RELOADS + 1
    for version, sources in seen.answers:
        assert sources == {source_of[version]}, (version, sources)
    assert {version for version, _ in seen.answers} == set(source_of)
    logged = [json.loads(line) for line in server.stdout]
    assert sum(1 for line in logged if line["path"] in ("/search", "/ask")) == len(seen.answers)
    assert all(
        {"method", "path", "status", "duration_ms", "request_id"} <= set(line) for line in logged
    )
