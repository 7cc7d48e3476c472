"""The metrics of the evaluation README, on small hand-made cases with known answers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service import cli
from service.chunking import Passage
from service.engine import Engine
from service.evaluation import Question, load_questions, locate_paragraphs, metrics
from service.search import Answer, Hit


def passage(pid: str, text: str, start: int = 0, role: str | None = "A") -> Passage:
    return Passage(pid, "doc.txt", text, start, start + len(text), (), (), role, ())


def answer(roles: str | None, no_answer: bool, *passages: Passage) -> Answer:
    hits = tuple(Hit(p, r, 1.0 / r, p.text, {}) for r, p in enumerate(passages, start=1))
    return Answer("q", roles, 0.5, no_answer, hits, 1.0)


RED = passage("d#1", "The red fox  jumps.", 0, "A")
BLUE = passage("d#2", "A blue whale sings.", 20, "B")
GREY = passage("d#3", "Grey clouds gather.", 40, "shared")


def test_recall_and_mrr() -> None:
    questions = [
        Question("1", "fox?", "keyword", "A", ("red FOX jumps",)),  # rank 1 (spaces normalised)
        Question("2", "whale?", "who", "B", ("blue whale",)),  # rank 2
        Question("3", "clouds?", "who", "shared", ("grey clouds",)),  # rank 3
        Question("4", "moon?", "keyword", "A", ("the moon",)),  # not found
    ]
    answers = [
        answer("A", False, RED, BLUE, GREY),
        answer("A", False, RED, BLUE, GREY),
        answer("shared", False, RED, BLUE, GREY),
        answer("A", False, RED, BLUE, GREY),
    ]
    m = metrics(questions, answers)
    assert m["recall@1"] == 0.25
    assert m["recall@3"] == 0.75
    assert m["recall@5"] == 0.75
    assert m["mrr@10"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 4, abs=1e-4)
    assert m["answer_role"] == 0.75  # question 2 got "A" instead of "B"


def test_no_answer_metrics() -> None:
    questions = [
        Question("1", "salary?", "negative", None, ()),
        Question("2", "holidays?", "negative", None, ()),
        Question("3", "fox?", "keyword", "A", ("red fox",)),
    ]
    answers = [answer(None, True), answer("A", False, RED), answer("A", True, RED)]
    m = metrics(questions, answers)
    assert m["negatives_caught"] == 0.5
    assert m["false_no_answer"] == 1.0
    assert m["answer_role"] == 1.0  # negatives have no gold role and are not counted


def test_passage_role_accuracy_uses_the_gold_paragraphs(tmp_path: Path) -> None:
    text = "The red fox  jumps. A blue whale sings. Grey clouds gather."
    gold = tmp_path / "gold.jsonl"
    gold.write_text(
        '{"prefix": "The red fox", "role": "A"}\n{"prefix": "A blue whale", "role": "A"}\n'
        '{"prefix": "Grey clouds", "role": "shared"}\n'
    )
    paragraphs = locate_paragraphs(gold, {"doc.txt": text})
    assert [(p.start, p.end) for p in paragraphs] == [(0, 20), (20, 40), (40, len(text))]
    m = metrics(
        [Question("1", "q", "who", "A", ())], [answer("A", False, RED, BLUE, GREY)], paragraphs
    )
    assert m["passage_role"] == pytest.approx(2 / 3, abs=1e-4)  # BLUE says B, gold says A


def test_questions_load_and_bad_lines_are_named(tmp_path: Path) -> None:
    good = tmp_path / "q.jsonl"
    good.write_text(
        '{"id": "x", "question": "hi", "kind": "who", "role": null, "evidence": []}\n\n'
    )
    assert load_questions(good)[0].question == "hi"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "hi"}\n{"nope": 1}\n')
    with pytest.raises(ValueError, match=r"bad\.jsonl:2"):
        load_questions(bad)


def test_eval_lists_each_miss_with_its_kind(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(cli, "_engine", lambda index: engine)
    questions = tmp_path / "q.jsonl"
    miss = {
        "id": "m-1",
        "question": "Who represents the customer?",
        "kind": "who",
        "role": "SAFe Product Manager",  # wrong on purpose: the article says the PO
        "evidence": ["no passage says this"],
    }
    questions.write_text(json.dumps(miss) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli.app, ["eval", str(questions), "--failures"])
    assert result.exit_code == 0, result.output
    assert "m-1 [who] rank=None" in result.output


DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    "questions",
    [DATA / "safe_heldout.jsonl", *sorted(DATA.glob("*/questions.jsonl"))],
    ids=lambda p: p.parent.name if p.name == "questions.jsonl" else p.stem,
)
def test_every_held_out_set_passes_the_eval_data_check(questions: Path) -> None:
    """Evidence that is not in the corpus, or lies in a paragraph of another gold role, would
    make a question nobody can answer, silently: the checker must find nothing wrong."""
    script = Path(__file__).parent.parent / "scripts" / "check_eval_data.py"
    done = subprocess.run(
        [sys.executable, str(script), str(questions)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
    assert done.stdout.rstrip().endswith("ok")
