"""FAQ files in and out: read a list of questions, answer them together, write one row per row.

Formats are a table of reader and writer functions keyed by file extension:

- in: `.txt` (one question a line), `.csv` (a `question` column; the delimiter is sniffed from
  the header line), `.jsonl` (objects with `question`), `.xlsx` (first sheet, `question` header);
- out: `.csv`, `.jsonl`, `.xlsx`, and `.md`, a report for people.

Every record of the input is a row, and every row gets exactly one result, in input order:
a row that cannot be answered (blank, too long, not text, malformed) gets an `error` instead of
an answer, so nothing disappears on the way. Only blank records at the very end of a file are not
rows (an editor's trailing newline or a spreadsheet's empty tail is not a question). Every other
column of the input is carried through unchanged; one whose name clashes with an output column
is carried as `input_<name>`.
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import orjson

from service.encoder import CachedEncoder
from service.questions import MAX_QUESTION_CHARS, check_question
from service.search import Answer, Searcher

# Questions per call to the searcher: big enough to encode efficiently, small enough that a
# progress bar moves.
CHUNK = 64
# Distinct texts one batch may remember the vectors of (about 1.5 kB each).
BATCH_VECTORS = 100_000
ANSWER_COLUMNS = (
    "question",
    "answer_role",
    "confidence",
    "no_answer",
    "passage_id",
    "section",
    "answer",
    "score",
)
ERROR_COLUMN = "error"
SECTION_SEPARATOR = " \N{SINGLE RIGHT-POINTING ANGLE QUOTATION MARK} "

Progress = Callable[[int, int], None]  # (questions answered so far, questions to answer)


class FaqFileError(Exception):
    """A FAQ file that cannot be read or written at all; the message is one sentence."""


@dataclass(frozen=True)
class Row:
    """One record of a FAQ file: its question as read, its other columns, or why it is bad."""

    question: object
    carried: Mapping[str, object] = field(default_factory=dict)
    problem: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "carried", _carry(self.carried))


@dataclass(frozen=True)
class Result:
    row: Row
    answer: Answer


# --- answering ---------------------------------------------------------------------------------


def answer(
    searcher: Searcher,
    questions: Sequence[object],
    *,
    top_k: int = 3,
    role: str | None = None,
    max_chars: int = MAX_QUESTION_CHARS,
    chunk: int = CHUNK,
    progress: Progress | None = None,
) -> list[Answer]:
    """One Answer per item, in order; an item that is not a valid question gets `error`, no hits.

    Questions are encoded in chunks rather than one by one, and a question asked several times
    is answered once.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, not {chunk}")
    checked: list[str | ValueError] = []
    for value in questions:
        try:
            checked.append(check_question(value, max_chars))
        except ValueError as exc:
            checked.append(exc)
    unique = list(dict.fromkeys(q for q in checked if isinstance(q, str)))
    # Questions of a FAQ list share most of their words: encode each text once per batch.
    searcher = searcher.with_encoder(CachedEncoder(searcher.encoder, BATCH_VECTORS))
    found: dict[str, Answer] = {}
    for start in range(0, len(unique), chunk):
        part = unique[start : start + chunk]
        found.update(zip(part, searcher.search_many(part, top_k, role), strict=True))
        if progress is not None:
            progress(len(found), len(unique))
    return [
        found[q] if isinstance(q, str) else failed(value, str(q))
        for value, q in zip(questions, checked, strict=True)
    ]


def answer_rows(
    searcher: Searcher,
    rows: Sequence[Row],
    *,
    top_k: int = 3,
    max_chars: int = MAX_QUESTION_CHARS,
    chunk: int = CHUNK,
    progress: Progress | None = None,
) -> list[Result]:
    """`answer` for the rows of a FAQ file; a malformed row keeps the reason it was read with."""
    readable = [r.question for r in rows if r.problem is None]
    answers = iter(
        answer(searcher, readable, top_k=top_k, max_chars=max_chars, chunk=chunk, progress=progress)
    )
    return [
        Result(r, next(answers) if r.problem is None else failed(r.question, r.problem))
        for r in rows
    ]


def failed(question: object, error: str) -> Answer:
    """The answer to a question that could not be asked: no passages, and why."""
    text = "" if question is None else str(question)
    return Answer(text, None, 0.0, True, (), 0.0, error=error)


# --- reading -----------------------------------------------------------------------------------

Reader = Callable[[bytes], list[Row]]


def read_faq(
    source: str | Path, fmt: str | None = None, stdin: BinaryIO | None = None
) -> list[Row]:
    """The rows of a FAQ file; `-` reads standard input, as `.txt` unless `fmt` says otherwise."""
    name = str(source)
    fmt = (fmt or ("txt" if name == "-" else _extension(name))).lower().lstrip(".")
    reader = READERS.get(fmt)
    if reader is None:
        known = ", ".join(f".{f}" for f in READERS)
        raise FaqFileError(f"{name}: cannot read {_describe(fmt)}; FAQ files are {known}")
    try:
        data = (stdin or sys.stdin.buffer).read() if name == "-" else Path(name).read_bytes()
    except OSError as exc:
        raise FaqFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        rows = reader(data)
    except FaqFileError as exc:
        raise FaqFileError(f"{name}: {exc}") from None
    while rows and _is_blank(rows[-1]):
        rows.pop()
    return rows


def read_txt(data: bytes) -> list[Row]:
    return [Row(line) for line in _text(data).splitlines()]


def read_csv(data: bytes) -> list[Row]:
    text = _text(data)
    header_line = text.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(header_line, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise FaqFileError(f"not a readable CSV file ({exc})") from None
    if not records:
        raise FaqFileError(
            "the file is empty: a CSV FAQ file needs a header with a question column"
        )
    return _table(records[0], records[1:])


def read_jsonl(data: bytes) -> list[Row]:
    return [_json_row(n, line) for n, line in enumerate(_text(data).splitlines(), start=1)]


def read_xlsx(data: bytes) -> list[Row]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError):
        raise FaqFileError("not an Excel workbook (.xlsx)") from None
    try:
        if not book.worksheets:
            raise FaqFileError("the workbook has no sheet")
        records = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    if not records:
        raise FaqFileError("the first sheet is empty: it needs a header with a question column")
    return _table(records[0], records[1:])


def _json_row(number: int, line: str) -> Row:
    if not line.strip():
        return Row("")
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Row(None, problem=f"line {number} is not valid JSON ({exc})")
    if not isinstance(value, dict):
        kind = type(value).__name__
        return Row(None, problem=f"line {number} is a JSON {kind}, not an object with a question")
    key = _question_key(value)
    if key is None:
        return Row(None, value, problem=f"line {number} has no 'question' field")
    return Row(value[key], {k: v for k, v in value.items() if k != key})


def _table(header: Sequence[object], records: Iterable[Sequence[object]]) -> list[Row]:
    """Rows of a header-and-records table (CSV or a sheet); an empty cell is an empty string."""
    names = [_header_name(h, i) for i, h in enumerate(header, start=1)]
    duplicate = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if duplicate is not None:
        raise FaqFileError(f"the column {duplicate!r} appears twice in the header")
    key = _question_key(names)
    if key is None:
        raise FaqFileError(f"no 'question' column; the header is: {', '.join(names)}")
    q = names.index(key)
    rows = []
    for cells in records:
        padded = [("" if c is None else c) for c in cells[: len(names)]]
        padded += [""] * (len(names) - len(padded))
        extra = [c for c in cells[len(names) :] if c not in (None, "")]
        problem = (
            f"the row has {len(names) + len(extra)} cells; the header names {len(names)}"
            if extra
            else None
        )
        carried = {n: c for n, c in zip(names, padded, strict=True) if n != key}
        rows.append(Row(padded[q], carried, problem))
    return rows


def _header_name(value: object, position: int) -> str:
    name = "" if value is None else str(value).strip()
    return name or f"column {position}"


def _question_key(names: Iterable[str]) -> str | None:
    names = list(names)
    if "question" in names:
        return "question"
    return next((n for n in names if n.strip().casefold() == "question"), None)


def _carry(columns: Mapping[str, object]) -> dict[str, object]:
    """The other columns, renamed where they would clash with an output column."""
    taken = {*ANSWER_COLUMNS, ERROR_COLUMN}
    carried: dict[str, object] = {}
    for name, value in columns.items():
        while name in taken or name in carried:
            name = f"input_{name}"
        carried[name] = value
    return carried


def _is_blank(row: Row) -> bool:
    return (
        row.problem is None
        and isinstance(row.question, str)
        and not row.question.strip()
        and all(v in (None, "") for v in row.carried.values())
    )


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FaqFileError(f"not UTF-8 text (byte {exc.start})") from None


def _extension(name: str | Path) -> str:
    return Path(name).suffix.lower().lstrip(".")


def _describe(fmt: str) -> str:
    return f"'.{fmt}' files" if fmt else "a file without an extension"


# --- writing -----------------------------------------------------------------------------------

Writer = Callable[[Sequence[Result]], bytes]


def writer_for(path: str | Path) -> Writer:
    """The writer for an output file's extension (checked before any work is done)."""
    fmt = _extension(path)
    writer = WRITERS.get(fmt)
    if writer is None:
        known = ", ".join(f".{f}" for f in WRITERS)
        raise FaqFileError(f"{path}: cannot write {_describe(fmt)}; answers are written as {known}")
    return writer


def write_results(path: str | Path, results: Sequence[Result]) -> None:
    data = writer_for(path)(results)
    try:
        Path(path).write_bytes(data)
    except OSError as exc:
        raise FaqFileError(f"cannot write {path}: {exc.strerror or exc}") from None


def columns(results: Sequence[Result]) -> list[str]:
    """Output columns: the answer's, then the carried ones in order of appearance, then `error`."""
    carried = dict.fromkeys(name for r in results for name in r.row.carried)
    return [*ANSWER_COLUMNS, *carried, ERROR_COLUMN]


def record(result: Result) -> dict[str, object]:
    """One flat output row: the top passage's fields, the carried columns, and the error."""
    a = result.answer
    ok = a.error is None
    top = a.hits[0] if ok and a.hits else None
    return {
        "question": result.row.question,
        "answer_role": a.answer_role,
        "confidence": a.confidence if ok else None,
        "no_answer": a.no_answer if ok else None,
        "passage_id": top.passage.id if top else None,
        "section": SECTION_SEPARATOR.join(top.passage.section) if top else None,
        "answer": top.answer if top else None,
        "score": top.score if top else None,
        **result.row.carried,
        ERROR_COLUMN: a.error,
    }


def write_csv(results: Sequence[Result]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, columns(results), restval="")
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in record(r).items()} for r in results)
    return buffer.getvalue().encode("utf-8")


def write_jsonl(results: Sequence[Result]) -> bytes:
    names = columns(results)
    return b"".join(
        orjson.dumps({n: rec.get(n) for n in names}, default=str) + b"\n"
        for rec in map(record, results)
    )


def write_xlsx(results: Sequence[Result]) -> bytes:
    from openpyxl import Workbook

    names = columns(results)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("answers")
    sheet.append(names)
    for rec in map(record, results):
        sheet.append([_xlsx_cell(sheet, rec.get(n)) for n in names])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_md(results: Sequence[Result]) -> bytes:
    return report(results).encode("utf-8")


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def _xlsx_cell(sheet: object, value: object) -> object:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, dict | list):
        value = orjson.dumps(value).decode()
    if value == "":
        return None
    if not isinstance(value, str):
        return value
    cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # text stays text: "=..." is not a formula here
    return cell


# --- the report --------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def report(results: Sequence[Result]) -> str:
    """A Markdown report: a summary, then one section per question with its best passage."""
    failed_n = sum(r.answer.error is not None for r in results)
    no_answer = sum(r.answer.error is None and r.answer.no_answer for r in results)
    lines = [
        "# FAQ answers",
        "",
        f"{len(results)} questions: {len(results) - failed_n} answered "
        f"({no_answer} without a good answer in these documents), {failed_n} not answered.",
    ]
    for n, result in enumerate(results, start=1):
        lines += ["", *_report_section(n, result)]
    return "\n".join(lines) + "\n"


def _report_section(n: int, result: Result) -> Iterator[str]:
    a = result.answer
    title = " ".join(_plain(result.row.question).split()) or "(blank)"
    yield f"## {n}. {_md(title)}"
    yield ""
    if result.row.carried:
        yield " · ".join(f"{_md(k)}: {_md(_plain(v))}" for k, v in result.row.carried.items())
        yield ""
    if a.error is not None:
        yield f"**Not answered:** {_md(a.error)}"
        return
    if a.no_answer:
        yield f"**No good answer in these documents** (confidence {a.confidence:.2f}); the closest:"
    else:
        yield f"**Answer role:** {_md(str(a.answer_role))} · confidence {a.confidence:.2f}"
    if not a.hits:
        return
    top = a.hits[0]
    yield ""
    yield from (f"> {line}".rstrip() for line in _bolded(top.passage.text, top.answer).split("\n"))
    yield ""
    yield (
        f"Section: {_md(SECTION_SEPARATOR.join(top.passage.section) or '-')} · "
        f"score {top.score:.3f} · `{top.passage.id}`"
    )
    if len(a.hits) > 1:
        yield ""
    for hit in a.hits[1:]:
        yield (
            f"- also {hit.rank}. `{hit.passage.id}` ({_md(str(hit.passage.role))}, "
            f"score {hit.score:.3f}): {_md(hit.answer)}"
        )


def _bolded(text: str, sentence: str) -> str:
    """The passage with its answer sentence in bold, line by line (bold cannot span lines)."""
    at = text.find(sentence) if sentence else -1
    if at < 0:
        return _md(text)
    middle = "\n".join(
        f"**{_md(line.strip())}**" if line.strip() else line
        for line in text[at : at + len(sentence)].split("\n")
    )
    return _md(text[:at]) + middle + _md(text[at + len(sentence) :])


def _md(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def _plain(value: object) -> str:
    return "" if value is None else str(value)


READERS: dict[str, Reader] = {
    "txt": read_txt,
    "csv": read_csv,
    "jsonl": read_jsonl,
    "xlsx": read_xlsx,
}
WRITERS: dict[str, Writer] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
    "xlsx": write_xlsx,
    "md": write_md,
}
