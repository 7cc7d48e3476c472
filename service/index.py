"""The built artifact: build it from a corpus, save it atomically, load and check it.

An index root holds versions side by side (`v-<time>/`) and a `CURRENT` file naming the one in
use. A build writes a new version into a temporary folder, renames it into place, then replaces
`CURRENT` in one `os.replace`, so a reader sees the old index or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import faiss
import numpy as np

from service.chunking import Passage, Span, chunk_document
from service.documents import Document, corpus_files, read_corpus
from service.encoder import ENCODER_CONFIG, Encoder, dictionary
from service.expansion import Vocabulary
from service.lexical import LexicalIndex
from service.people import people_in
from service.roles import SHARED, RoleBook

FORMAT_VERSION = 1
ROLES_FILE = "roles.toml"
NO_ROLE = "none"  # the manifest's count of passages about no role
ENCODER_DIR = "encoder"  # the exported query encoder, so serving needs no torch
CURRENT = "CURRENT"
KEEP_VERSIONS = 2
LIBRARIES = ("faiss-cpu", "bm25s", "numpy", "sentence-transformers", "onnxruntime", "tokenizers")


class IndexRefused(Exception):
    """An index that cannot be served; the message is one sentence for a person."""


@dataclass(frozen=True)
class Index:
    path: Path  # the version folder
    manifest: dict[str, object]
    roles: RoleBook
    passages: tuple[Passage, ...]
    dense: faiss.Index  # one row per passage
    headings: faiss.Index  # one row per passage: its section path
    sentences: faiss.Index  # one row per sentence, in passage order
    sentence_owner: np.ndarray  # passage row of every sentence row
    lexical: LexicalIndex
    vocabulary: Vocabulary

    @property
    def version(self) -> str:
        return self.path.name


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def corpus_fingerprint(corpus: Path) -> dict[str, object]:
    roles = corpus / ROLES_FILE
    if not roles.is_file():
        raise IndexRefused(f"the corpus folder {corpus} has no {ROLES_FILE}")
    return {
        "dir": str(corpus.resolve()),
        "files": {str(p.relative_to(corpus)): sha256_file(p) for p in corpus_files(corpus)},
        "roles_sha256": sha256_file(roles),
    }


def heading_texts(passages: list[Passage], titles: dict[str, str | None]) -> list[str]:
    """What each passage's section is called, for matching questions against headings.

    Text outside any section is named by its place: before the first heading it introduces the
    document, after the last it concludes it ("the closing advice", "a summary").
    """
    texts = []
    for p in passages:
        if p.section:
            texts.append(" / ".join(p.section))
            continue
        same_doc = [q for q in passages if q.source == p.source]
        after_sections = any(q.section for q in same_doc[: same_doc.index(p)])
        place = "Conclusion" if after_sections else "Introduction"
        texts.append(f"{place}: {titles[p.source] or p.source}")
    return texts


def corpus_roles(corpus: Path, docs: Sequence[Document]) -> RoleBook:
    """The corpus's roles.toml, knowing also the people its documents name in each role."""
    book = RoleBook.load(corpus / ROLES_FILE)
    return book.with_people(people_in([d.text for d in docs], book))


def make_passages(
    docs: Sequence[Document], roles: RoleBook
) -> tuple[list[Passage], dict[str, str | None]]:
    """Chunk every document and attribute each passage, with its section as context."""
    passages: list[Passage] = []
    titles: dict[str, str | None] = {}
    for doc in docs:
        titles[doc.source] = doc.title
        chunks = chunk_document(doc)
        for p in chunks:
            section = [q.text for q in chunks if q.section == p.section and q is not p]
            parent = [
                q.text
                for q in chunks
                if p.section[:-1]
                and q.section[: len(p.section) - 1] == p.section[:-1]
                and q.section != p.section
            ]
            attribution = roles.attribute(p.text, p.section, (section, parent))
            passages.append(
                replace(p, role=attribution.role, role_scores=tuple(attribution.scores.items()))
            )
    return passages, titles


def _flat(vectors: np.ndarray) -> faiss.Index:
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return index


def build(
    corpus: Path,
    root: Path,
    encoder: Encoder,
    progress: Callable[[str], None] = lambda _: None,
    encoder_files: Path | None = None,
) -> Path:
    """Build an index of `corpus` as a new version under `root`; return the version folder.

    `encoder_files`, an exported encoder (service/export.py), is copied into the version so that
    it is served with exactly the encoder it was built for.
    """
    if not corpus.is_dir():
        raise IndexRefused(f"the corpus folder {corpus} does not exist")
    fingerprint = corpus_fingerprint(corpus)
    if not fingerprint["files"]:
        raise IndexRefused(f"the corpus folder {corpus} has no .txt or .md files")
    progress("reading and chunking documents")
    docs = read_corpus(corpus)
    roles = corpus_roles(corpus, docs)
    passages, titles = make_passages(docs, roles)
    if not passages:
        raise IndexRefused(f"the documents in {corpus} have no body text to index")

    progress(f"encoding {len(passages)} passages")
    sentence_texts = [s for p in passages for s in p.sentence_texts()]
    owner = np.array([i for i, p in enumerate(passages) for _ in p.sentences], dtype=np.int32)
    dense = encoder.encode([p.text for p in passages])
    vocabulary = Vocabulary.build([p.text for p in passages], encoder)
    headings = encoder.encode(heading_texts(passages, titles))
    sentences = encoder.encode(sentence_texts)

    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    try:
        faiss.write_index(_flat(dense), str(tmp / "dense.faiss"))
        faiss.write_index(_flat(headings), str(tmp / "headings.faiss"))
        faiss.write_index(_flat(sentences), str(tmp / "sentences.faiss"))
        np.save(tmp / "sentence_owner.npy", owner)
        LexicalIndex.build([p.text for p in passages]).save(tmp / "lexical")
        vocabulary.save(tmp / "vocabulary")
        shutil.copyfile(corpus / ROLES_FILE, tmp / ROLES_FILE)
        if encoder_files is not None:
            shutil.copytree(encoder_files, tmp / ENCODER_DIR)
        with (tmp / "passages.jsonl").open("w", encoding="utf-8") as f:
            for p in passages:
                f.write(json.dumps(_passage_to_dict(p), ensure_ascii=False) + "\n")
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": {"id": encoder.model_id, "dim": encoder.dim},
            "encoder": {
                "embedded_by": encoder.backend,
                "export": _export_record(tmp / ENCODER_DIR),
            },
            "corpus": fingerprint,
            "passages": len(passages),
            "about": role_counts(passages, roles),
            "people": dict(roles.people),
            "sentences": len(sentence_texts),
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "builder": builder_fingerprint(),
            "libraries": _library_versions(),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        version = root / f"v-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        tmp.chmod(0o755)  # mkdtemp makes it private; the server may run as another user
        tmp.rename(version)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    point_to(root, version)
    prune(root)
    return version


def role_counts(passages: Sequence[Passage], roles: RoleBook) -> dict[str, int]:
    """How many passages are about each role, then shared, then about none: a role with none
    may be called in the documents by a name its aliases lack."""
    counts = dict.fromkeys([*roles.names, SHARED, NO_ROLE], 0)
    for p in passages:
        counts[p.role or NO_ROLE] += 1
    return counts


def point_to(root: Path, version: Path) -> None:
    """Make `version` the one in use, atomically."""
    tmp = root / f".{CURRENT}.tmp"
    tmp.write_text(version.name + "\n", encoding="utf-8")
    os.replace(tmp, root / CURRENT)


def versions(root: Path) -> list[Path]:
    return sorted(p for p in root.glob("v-*") if p.is_dir())


def prune(root: Path, keep: int = KEEP_VERSIONS) -> None:
    current = resolve(root)
    for old in versions(root)[:-keep]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)


def resolve(path: Path) -> Path:
    """The version folder that `path` (an index root or a version folder) stands for."""
    try:
        if (path / "manifest.json").is_file():
            return path
        pointer = path / CURRENT
        if not pointer.is_file():
            raise IndexRefused(
                f"there is no index at {path}: build one with `roleqa build --index {path}`"
            )
        version = path / pointer.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise IndexRefused(f"the index at {path} cannot be read ({exc.strerror})") from exc
    if not (version / "manifest.json").is_file():
        raise IndexRefused(f"the index at {path} points to {version.name}, which is missing")
    return version


def read_manifest(version: Path) -> dict[str, object]:
    try:
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IndexRefused(f"the index at {version} has a corrupt manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise IndexRefused(
            f"the index at {version} is not of format version {FORMAT_VERSION}: rebuild it"
        )
    return manifest


def builder_fingerprint() -> str:
    """A digest of the code that decides what an index holds (how documents are read,
    chunked and attributed, and what is stored): `roleqa build --if-stale` builds again when
    it changes, though an index from older code still loads and serves."""
    digest = hashlib.sha256()
    for name in ("documents", "chunking", "roles", "people", "expansion", "lexical", "index"):
        digest.update((Path(__file__).parent / f"{name}.py").read_bytes())
    return digest.hexdigest()[:16]


def rebuild_reason(manifest: dict[str, object], corpus: Path, export_format: int) -> str | None:
    """Why an index must be built again for `corpus`, or None: another corpus folder, changed
    documents or roles, an encoder export of another format, or other building code."""
    recorded = manifest.get("corpus")
    if not isinstance(recorded, dict) or recorded.get("dir") != str(corpus.resolve()):
        return f"it was built from another folder than {corpus}"
    if reason := staleness(manifest):
        return reason
    record = manifest.get("encoder")
    export = record.get("export") if isinstance(record, dict) else None
    if not isinstance(export, dict) or export.get("format") != export_format:
        return "its ONNX encoder is missing or of an older format"
    if manifest.get("builder") != builder_fingerprint():
        return "it was built by other code"
    return None


def staleness(manifest: dict[str, object]) -> str | None:
    """Why the index no longer matches the corpus folder it was built from, or None."""
    recorded = manifest.get("corpus")
    if not isinstance(recorded, dict):
        return "its manifest does not record its corpus"
    corpus = Path(str(recorded.get("dir")))
    if not corpus.is_dir():
        return None  # built elsewhere (an image, another machine): nothing to compare against
    try:
        now = corpus_fingerprint(corpus)
    except IndexRefused as exc:
        return str(exc)
    if now["files"] != recorded.get("files"):
        return f"the documents in {corpus} have changed since it was built"
    if now["roles_sha256"] != recorded.get("roles_sha256"):
        return f"{corpus / ROLES_FILE} has changed since it was built"
    return None


def load(path: Path, model_id: str, dim: int, check_stale: bool = True) -> Index:
    """Load and check the index at `path`; raise IndexRefused with the reason if unusable."""
    version = resolve(path)
    manifest = read_manifest(version)
    model = manifest.get("model")
    if not isinstance(model, dict) or model.get("id") != model_id or model.get("dim") != dim:
        raise IndexRefused(
            f"the index at {version} was built with model {model!r}, "
            f"not {model_id} ({dim} dims): rebuild it"
        )
    if check_stale and (reason := staleness(manifest)):
        raise IndexRefused(f"the index at {version} is stale: {reason}; rebuild it")
    try:
        passages = tuple(
            _passage_from_dict(json.loads(line))
            for line in (version / "passages.jsonl").read_text(encoding="utf-8").splitlines()
        )
        roles = RoleBook.load(version / ROLES_FILE).with_people(_people(manifest))
        dense = faiss.read_index(str(version / "dense.faiss"))
        headings = faiss.read_index(str(version / "headings.faiss"))
        sentences = faiss.read_index(str(version / "sentences.faiss"))
        owner = np.load(version / "sentence_owner.npy")
        lexical = LexicalIndex.load(version / "lexical")
        vocabulary = Vocabulary.load(version / "vocabulary", dictionary(version / ENCODER_DIR))
    except Exception as exc:  # any damage to the files means the same to the operator
        reason = _brief(exc)
        raise IndexRefused(f"the index at {version} is corrupt or incomplete ({reason})") from exc
    expected = manifest.get("passages")
    counts = {
        len(passages),
        dense.ntotal,
        headings.ntotal,
        int(lexical.retriever.scores["num_docs"]),
    }
    if counts != {expected} or sentences.ntotal != len(owner) or dense.d != dim:
        raise IndexRefused(f"the index at {version} is corrupt: its parts disagree in size")
    return Index(
        version, manifest, roles, passages, dense, headings, sentences, owner, lexical, vocabulary
    )


def _people(manifest: dict[str, object]) -> dict[str, str]:
    """The people the build found named in a role (none in an index from before it looked)."""
    people = manifest.get("people", {})
    if not isinstance(people, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in people.items()
    ):
        raise ValueError("its manifest's people are not a table of names to roles")
    return people


def _brief(exc: Exception) -> str:
    """The reason alone, without the C++ signature and source line faiss puts before it."""
    return re.sub(r"^Error in .*? at \S+:\d+: (?:Error: )?", "", str(exc), flags=re.S)


def _passage_to_dict(p: Passage) -> dict[str, object]:
    d = asdict(p)
    d["sentences"] = [[s.start, s.end] for s in p.sentences]
    d["role_scores"] = dict(p.role_scores)
    return d


def _passage_from_dict(d: dict[str, object]) -> Passage:
    return Passage(
        id=str(d["id"]),
        source=str(d["source"]),
        text=str(d["text"]),
        start=int(d["start"]),  # type: ignore[call-overload]
        end=int(d["end"]),  # type: ignore[call-overload]
        section=tuple(d["section"]),  # type: ignore[arg-type]
        sentences=tuple(Span(s, e) for s, e in d["sentences"]),  # type: ignore[attr-defined]
        role=d["role"],  # type: ignore[arg-type]
        role_scores=tuple(d["role_scores"].items()),  # type: ignore[attr-defined]
    )


def _export_record(folder: Path) -> dict[str, object] | None:
    """What the version's exported encoder is, with a checksum of each of its files."""
    if not folder.is_dir():
        return None
    config = json.loads((folder / ENCODER_CONFIG).read_text(encoding="utf-8"))
    files = {p.name: sha256_file(p) for p in sorted(folder.iterdir()) if p.is_file()}
    return {"folder": ENCODER_DIR, **config, "files": files}


def _library_versions() -> dict[str, str]:
    found = {}
    for name in LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[name] = metadata.version(name)
    return found
