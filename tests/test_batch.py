"""`roleqa batch`: FAQ files in every format, malformed rows, every output format, the CLI."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from service import batch, cli
from service.batch import Row
from service.engine import Engine
from service.questions import MAX_QUESTION_CHARS
from service.search import Answer, Searcher
from tests.conftest import SHARED

SEED = [
    json.loads(line)["question"]
    for line in (SHARED / "eval" / "seed_dev.jsonl").read_text(encoding="utf-8").splitlines()
]
FORMS: tuple[Callable[[str], str], ...] = (
    str,
    str.lower,
    lambda q: f"FAQ: {q}",
    lambda q: f"  {q.rstrip('?')}?  ",
    str.upper,
)
TOO_LONG = "why " * (MAX_QUESTION_CHARS // 4 + 1)
N = 240  # rows in each FAQ file
# position in the file -> (cell as written, what its error must say); common to every format
BAD = {0: ("", "empty"), 7: (TOO_LONG, "limit is 1000"), 41: ("   ", "empty")}


def faq_questions(n: int) -> list[str]:
    """n FAQ-style questions: the dev questions in several wordings, some asked more than once."""
    return [FORMS[(i // len(SEED)) % len(FORMS)](SEED[i % len(SEED)]) for i in range(n)]


def good_and_bad(n: int) -> list[tuple[str, str | None]]:
    """(question, expected error) for n rows, the common bad rows in place."""
    rows: list[tuple[str, str | None]] = [(q, None) for q in faq_questions(n)]
    for at, bad in BAD.items():
        rows[at] = bad
    return rows


@pytest.fixture(scope="module")
def reference(engine: Engine) -> dict[str, Answer]:
    """Each FAQ question's own answer, asked once: what its batch row must agree with."""
    unique = list(dict.fromkeys(q.strip() for q in faq_questions(N)))
    return dict(zip(unique, engine.searcher.search_many(unique, 3), strict=True))


@pytest.fixture()
def runner(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI, on the session's engine rather than a second copy of the model."""
    monkeypatch.setattr(cli, "_engine", lambda index: engine)
    return CliRunner()


# --- writing FAQ files, one function per format, independent of service.batch ------------------
# Each returns the expected rows: (question as read, id carried, error fragment or None).

Expected = list[tuple[object, object, str | None]]


def write_txt(path: Path, n: int) -> Expected:
    rows = good_and_bad(n)
    path.write_text("\n".join(q for q, _ in rows) + "\n\n\n", encoding="utf-8")
    return [(q, None, e) for q, e in rows]


def write_csv(path: Path, n: int) -> Expected:
    rows = good_and_bad(n)
    buffer = io.StringIO(newline="")
    out = csv.writer(buffer)
    out.writerow(["id", "Question", "notes"])
    expected: Expected = []
    for i, (q, e) in enumerate(rows):
        if i == 99:  # one cell too many
            out.writerow([i, q, "n", "stray"])
            expected.append((q, str(i), "has 4 cells"))
        else:
            out.writerow([i, q, f"note {i}"])
            expected.append((q, str(i), e))
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return expected


def write_jsonl(path: Path, n: int) -> Expected:
    rows = good_and_bad(n)
    lines: list[str] = []
    expected: Expected = []
    odd: dict[int, tuple[str, object, object, str]] = {
        13: (json.dumps({"id": 13, "question": 42}), 42, 13, "must be text"),
        14: (json.dumps({"id": 14, "question": None}), None, 14, "missing"),
        15: ('{"id": 15, "question": "unclosed', None, None, "not valid JSON"),
        16: (json.dumps(["a list"]), None, None, "not an object"),
        17: (json.dumps({"id": 17, "query": "no question key"}), None, 17, "no 'question'"),
        18: ("", "", None, "empty"),
    }
    for i, (q, e) in enumerate(rows):
        if i in odd:
            line, question, id_, error = odd[i]
            lines.append(line)
            expected.append((question, id_, error))
        else:
            lines.append(json.dumps({"id": i, "question": q, "extra": {"n": i}}))
            expected.append((q, i, e))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return expected


def write_xlsx(path: Path, n: int) -> Expected:
    rows = good_and_bad(n)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "question"])
    expected: Expected = []
    for i, (q, e) in enumerate(rows):
        if i == 21:  # a number where a question should be
            sheet.append([i, 3.5])
            expected.append((3.5, i, "must be text"))
        else:
            sheet.append([i, q or None])  # a blank question is an empty cell
            expected.append((q, i, e))
    book.create_sheet("ignored").append(["question"])
    book.save(path)
    return expected


INPUTS = {"txt": write_txt, "csv": write_csv, "jsonl": write_jsonl, "xlsx": write_xlsx}


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("fmt", INPUTS)
def test_every_input_row_gets_one_output_row_in_order_with_errors_explained(
    fmt: str, runner: CliRunner, reference: dict[str, Answer], tmp_path: Path
) -> None:
    source, target = tmp_path / f"faq.{fmt}", tmp_path / "answers.jsonl"
    expected = INPUTS[fmt](source, N)

    result = runner.invoke(cli.app, ["batch", str(source), "-o", str(target), "--quiet"])

    assert result.exit_code == 1, result.output  # some rows failed, and the status says so
    assert "not answered" in result.stderr
    rows = read_jsonl(target)
    assert len(rows) == len(expected)
    for row, (question, id_, error) in zip(rows, expected, strict=True):
        if question == "" and fmt == "xlsx":
            assert row["question"] in ("", None)
        else:
            assert row["question"] == question
        if fmt != "txt":
            assert row.get("id") == id_
        if error is not None:
            assert error in str(row["error"]), row
            assert row["passage_id"] is None and row["answer_role"] is None
            continue
        assert row["error"] is None, row
        want = reference[str(question).strip()]
        top = want.hits[0]
        assert (row["passage_id"], row["answer_role"]) == (top.passage.id, want.answer_role)
        assert row["answer"] == top.answer
        assert row["section"] == batch.SECTION_SEPARATOR.join(top.passage.section)
        assert row["no_answer"] == want.no_answer
        assert row["score"] == pytest.approx(top.score, abs=1e-3)
    if fmt == "jsonl":  # carried values stay what they were, not their text
        assert rows[20]["extra"] == {"n": 20}


def answered(engine: Engine) -> list[batch.Result]:
    rows = [
        Row("Who represents the customer?", {"id": "a", "answer_role": "mine"}),
        Row("", {"id": "b", "answer_role": ""}),
        Row("=1+1 what does the SAFe PM own?", {"id": "c", "answer_role": None}),
    ]
    return batch.answer_rows(engine.searcher, rows, top_k=3)


def read_back_csv(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def read_back_xlsx(path: Path) -> list[dict[str, object]]:
    sheet = load_workbook(path).worksheets[0]
    header, *records = list(sheet.iter_rows(values_only=True))
    return [dict(zip(map(str, header), r, strict=True)) for r in records]


READ_BACK = {"csv": read_back_csv, "jsonl": read_jsonl, "xlsx": read_back_xlsx}


@pytest.mark.parametrize("fmt", READ_BACK)
def test_each_output_format_reads_back_with_its_own_library_and_as_a_faq_file(
    fmt: str, engine: Engine, tmp_path: Path
) -> None:
    results = answered(engine)
    target = tmp_path / f"answers.{fmt}"
    batch.write_results(target, results)

    rows = READ_BACK[fmt](target)
    assert [str(r["id"]) for r in rows] == ["a", "b", "c"]
    assert list(rows[0]) == [*batch.ANSWER_COLUMNS, "id", "input_answer_role", "error"]
    first = results[0].answer
    assert rows[0]["passage_id"] == first.hits[0].passage.id
    assert rows[0]["answer_role"] == first.answer_role
    assert rows[0]["input_answer_role"] == "mine"
    assert float(str(rows[0]["score"])) == first.hits[0].score
    assert rows[0]["error"] in ("", None)
    assert "empty" in str(rows[1]["error"])
    assert rows[2]["question"] == "=1+1 what does the SAFe PM own?"  # text, never a formula

    again = batch.read_faq(target)
    assert [r.question or "" for r in again] == [r.row.question for r in results]
    assert all(r.problem is None for r in again)


def test_report_has_one_section_per_question_with_the_answer_sentence_in_bold(
    runner: CliRunner, engine: Engine, tmp_path: Path
) -> None:
    questions = ["Who represents the customer?", "", "What is the boiling point of mercury?"]
    source = tmp_path / "faq.txt"
    source.write_text("\n".join(questions), encoding="utf-8")

    result = runner.invoke(cli.app, ["batch", str(source)])  # no -o: the report, on stdout

    assert result.exit_code == 1
    titles = ["1. Who represents the customer?", "2. (blank)", f"3. {questions[2]}"]
    sections = result.stdout.split("\n## ")[1:]
    assert [s.splitlines()[0] for s in sections] == titles
    for question, section in zip(questions, sections, strict=True):
        if not question:
            assert "**Not answered:** question is empty" in section
            continue
        want = engine.searcher.search(question, 3)
        top = want.hits[0]
        if want.no_answer:
            assert "**No good answer in these documents**" in section
        else:
            assert f"**Answer role:** {want.answer_role}" in section
        assert f"**{top.answer}**" in section
        assert f"score {top.score:.3f}" in section
        assert batch.SECTION_SEPARATOR.join(top.passage.section) in section


def test_all_rows_answered_exits_zero_and_reads_standard_input(
    runner: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "answers.csv"
    as_text = runner.invoke(
        cli.app,
        ["batch", "-", "-o", str(target), "-q"],
        input="Who is the PO?\nWho owns the ART?\n",
    )
    assert as_text.exit_code == 0, as_text.output
    assert [r["question"] for r in read_back_csv(target)] == ["Who is the PO?", "Who owns the ART?"]

    as_csv = runner.invoke(
        cli.app,
        ["batch", "-", "--input-format", "csv", "-o", str(target), "-q"],
        input="QUESTION,topic\nWho is the PO?,roles\n",
    )
    assert as_csv.exit_code == 0, as_csv.output
    assert [(r["question"], r["topic"]) for r in read_back_csv(target)] == [
        ("Who is the PO?", "roles")
    ]


def test_repeated_questions_are_answered_once_in_chunks(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    search_many = Searcher.search_many

    def spy(
        self: Searcher, questions: list[str], top_k: int = 5, role: str | None = None
    ) -> list[Answer]:
        calls.append(list(questions))
        return search_many(self, questions, top_k, role)

    monkeypatch.setattr(Searcher, "search_many", spy)
    questions = faq_questions(300)  # the dev questions in several wordings, with repeats
    unique = list(dict.fromkeys(q.strip() for q in questions))
    seen: list[tuple[int, int]] = []

    answers = batch.answer(
        engine.searcher,
        questions,
        top_k=2,
        chunk=64,
        progress=lambda done, total: seen.append((done, total)),
    )

    assert 64 * 2 < len(unique) < len(questions)
    assert [q for call in calls for q in call] == unique
    assert all(len(call) == 64 for call in calls[:-1])
    assert seen == [(min(64 * n, len(unique)), len(unique)) for n in range(1, len(calls) + 1)]
    assert [a.question for a in answers] == [q.strip() for q in questions]


def test_no_text_is_encoded_twice_across_the_chunks_of_a_batch(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[str] = []
    encoder = engine.searcher.encoder

    class Counting:
        model_id, dim, backend = encoder.model_id, encoder.dim, encoder.backend

        def encode(self, texts: list[str]) -> np.ndarray:
            encoded.extend(texts)
            return encoder.encode(texts)

    monkeypatch.setattr(engine.searcher, "encoder", Counting())
    questions = faq_questions(200)

    answers = batch.answer(engine.searcher, questions, top_k=3, chunk=16)

    assert encoded and len(encoded) == len(set(encoded))
    want = engine.searcher.search_many([q.strip() for q in questions[:40]], 3)
    assert [[h.passage.id for h in a.hits] for a in answers[:40]] == [
        [h.passage.id for h in a.hits] for a in want
    ]


def test_trailing_blank_lines_are_not_rows_but_blank_lines_inside_are() -> None:
    rows = batch.read_txt(b"a?\n\n b?\n")
    assert [r.question for r in rows] == ["a?", "", " b?"]
    stdin = io.BytesIO(b"a?\n\n b?\n\n  \n")
    assert [r.question for r in batch.read_faq("-", stdin=stdin)] == ["a?", "", " b?"]


@pytest.mark.parametrize(
    ("name", "content", "extra", "message"),
    [
        ("missing.txt", None, [], "cannot read"),
        ("faq.docx", b"Who?", [], "cannot read '.docx' files"),
        ("faq", b"Who?", [], "without an extension"),
        ("faq.txt", b"Who?", ["-o", "out.pdf"], "cannot write '.pdf' files"),
        ("faq.csv", b"id,text\n1,Who?\n", [], "no 'question' column"),
        ("faq.csv", b"", [], "empty"),
        ("faq.csv", b"question,a,a\nWho?,1,2\n", [], "appears twice"),
        ("faq.xlsx", b"not a zip", [], "not an Excel workbook"),
        ("faq.txt", b"caf\xe9?", [], "not UTF-8"),
    ],
)
def test_an_unreadable_file_fails_with_a_clear_message(
    runner: CliRunner,
    tmp_path: Path,
    name: str,
    content: bytes | None,
    extra: list[str],
    message: str,
) -> None:
    source = tmp_path / name
    if content is not None:
        source.write_bytes(content)
    extra = [str(tmp_path / a) if a.endswith(".pdf") else a for a in extra]

    result = runner.invoke(cli.app, ["batch", str(source), *extra])

    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.output
