"""Validate an evaluation question file (and its gold paragraph roles) against a corpus folder.

Evaluation data is written by hand, and a typo in an evidence string or a role name silently
turns a question into one nobody can answer. This checks what the metrics rely on:

- every line is a question object with a unique id, a known kind and a role that is a name from
  the corpus's roles.toml, "shared", or null exactly for negatives;
- every evidence string occurs in the corpus once text is normalised as the metrics normalise it;
- with gold paragraph roles: every prefix occurs exactly once, verbatim, and each evidence string
  lies in a paragraph whose gold role is the one the question expects (its `evidence_roles`
  entry, else its `role`).

    python scripts/check_eval_data.py tests/data/clinic/questions.jsonl
    python scripts/check_eval_data.py tests/data/safe_heldout.jsonl --corpus corpus \\
        --paragraphs ../shared/eval/paragraph_roles.jsonl

Exits 1 when anything is wrong, listing every problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from service.documents import corpus_files, read_text
from service.evaluation import ParagraphRole, locate_paragraphs, normalise
from service.roles import RoleBook

KINDS = ("role-named", "who", "keyword", "paraphrase", "comparison", "negative")
ROOT = Path(__file__).resolve().parent.parent


def read_corpus(folder: Path) -> dict[str, str]:
    """The corpus texts by file name, as the service reads them."""
    return {str(p.relative_to(folder)): read_text(p) for p in corpus_files(folder)}


def read_roles(folder: Path) -> set[str]:
    return set(RoleBook.load(folder / "roles.toml").names)


def read_jsonl(path: Path, problems: list[str]) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{path.name}:{n}: not JSON ({exc})")
            continue
        if not isinstance(row, dict):
            problems.append(f"{path.name}:{n}: not a JSON object")
            continue
        rows.append((n, row))
    return rows


def check_paragraphs(
    path: Path, texts: dict[str, str], roles: set[str], problems: list[str]
) -> list[ParagraphRole]:
    """Check the gold file, then place its paragraphs exactly as the evaluation does."""
    for n, row in read_jsonl(path, problems):
        where = f"{path.name}:{n}"
        prefix = row.get("prefix")
        if not isinstance(prefix, str) or not prefix.strip():
            problems.append(f"{where}: no prefix")
            continue
        hits = sum(text.count(prefix) for text in texts.values())
        if hits != 1:
            problems.append(f"{where}: prefix occurs {hits} times, not once: {prefix!r}")
        if row.get("role") is not None and row["role"] not in roles | {"shared"}:
            problems.append(f"{where}: unknown role {row['role']!r}")
        if not isinstance(row.get("heading_path"), list):
            problems.append(f"{where}: heading_path is not a list")
    return locate_paragraphs(path, texts)


def gold_roles_of(
    evidence: str, texts: dict[str, str], paragraphs: list[ParagraphRole]
) -> set[str | None]:
    """The gold roles of the paragraphs an evidence string lies in."""
    return {p.role for p in paragraphs if evidence in normalise(texts[p.source][p.start : p.end])}


def check_questions(
    path: Path,
    texts: dict[str, str],
    roles: set[str],
    paragraphs: list[ParagraphRole],
    problems: list[str],
) -> Counter[str]:
    corpus = {name: normalise(text) for name, text in texts.items()}
    kinds: Counter[str] = Counter()
    ids: Counter[str] = Counter()
    for n, q in read_jsonl(path, problems):
        where = f"{path.name}:{n} ({q.get('id')})"
        ids[str(q.get("id"))] += 1
        kind, role = q.get("kind"), q.get("role")
        kinds[str(kind)] += 1
        evidence = q.get("evidence", [])
        if not isinstance(q.get("question"), str) or not q["question"].strip():
            problems.append(f"{where}: no question text")
        if kind not in KINDS:
            problems.append(f"{where}: unknown kind {kind!r}")
        if (role is None) != (kind == "negative"):
            problems.append(f"{where}: the role is null for negatives and only for them")
        elif role is not None and role not in roles | {"shared"}:
            problems.append(f"{where}: unknown role {role!r}")
        if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
            problems.append(f"{where}: evidence is not a list of strings")
            continue
        if bool(evidence) == (kind == "negative"):
            problems.append(f"{where}: negatives have no evidence, other questions some")
        expected = q.get("evidence_roles", [role] * len(evidence))
        if len(expected) != len(evidence):
            problems.append(f"{where}: evidence_roles and evidence differ in length")
            continue
        if kind == "comparison" and "evidence_roles" not in q:
            problems.append(f"{where}: a comparison names the role of each evidence string")
        for e, want in zip(evidence, expected, strict=True):
            needle = normalise(e)
            found = sum(text.count(needle) for text in corpus.values())
            if not found:
                problems.append(f"{where}: evidence not in the corpus: {e!r}")
            elif paragraphs:
                gold = gold_roles_of(needle, texts, paragraphs)
                if gold != {want}:
                    problems.append(
                        f"{where}: evidence {e!r} lies in paragraphs of role(s) "
                        f"{sorted(map(str, gold))}, question expects {want!r}"
                    )
    problems.extend(f"{path.name}: id {i!r} used {c} times" for i, c in ids.items() if c > 1)
    return kinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument(
        "--corpus",
        type=Path,
        help="folder with the documents and roles.toml "
        "(default: the questions' folder if it has a roles.toml, else corpus/)",
    )
    parser.add_argument(
        "--paragraphs",
        type=Path,
        help="gold paragraph roles (default: paragraph_roles.jsonl beside the questions, if any)",
    )
    args = parser.parse_args(argv)
    here = args.questions.parent
    corpus_dir = args.corpus or (here if (here / "roles.toml").exists() else ROOT / "corpus")
    gold_path = args.paragraphs or here / "paragraph_roles.jsonl"

    problems: list[str] = []
    texts, roles = read_corpus(corpus_dir), read_roles(corpus_dir)
    paragraphs = check_paragraphs(gold_path, texts, roles, problems) if gold_path.exists() else []
    kinds = check_questions(args.questions, texts, roles, paragraphs, problems)

    mix = ", ".join(f"{k} {kinds[k]}" for k in KINDS if kinds[k])
    print(f"{args.questions}: {sum(kinds.values())} questions ({mix})")
    print(f"  corpus {corpus_dir}: {', '.join(texts)}; roles: {', '.join(sorted(roles))}")
    if gold_path.exists():
        print(f"  gold paragraphs {gold_path}: {len(paragraphs)} placed")
    for problem in problems:
        print(f"  PROBLEM {problem}")
    print("  ok" if not problems else f"  {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
