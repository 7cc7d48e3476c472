"""Read corpus files into documents: a title, sections and body blocks with exact offsets.

Every block keeps `start`/`end` into the file's text, so `text[start:end] == block.text` holds
all the way to the passages the service returns.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CORPUS_SUFFIXES = (".txt", ".md")

# A plain-text heading is a short line standing alone, without final punctuation.
MAX_HEADING_CHARS = 120
MAX_HEADING_WORDS = 16
FINAL_PUNCTUATION = ".!?,;:…\"'”’)"

BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+")
_FIGURES_OR_LABEL = re.compile(r"\d|:")
# "2. Roles", "3.1 Escalation", "4) Closing checks": a heading or a list item, by what follows.
NUMBERED = re.compile(r"^(\d{1,3}(?:\.\d{1,3})*)[.)]?\s+([A-Z].*)$")
# A numbered line stands over a section when a paragraph this long follows it, not a step.
MIN_SECTION_CHARS = 80
MD_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$")
MD_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
MD_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
MD_FENCE = re.compile(r"^ {0,3}(```|~~~)")


@dataclass(frozen=True)
class Block:
    """A body paragraph or list, with its place in the source and its section path."""

    text: str
    start: int
    end: int
    section: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    source: str  # file name relative to the corpus folder
    text: str
    title: str | None
    blocks: tuple[Block, ...]

    @property
    def stem(self) -> str:
        return Path(self.source).stem


@dataclass(frozen=True)
class _Chunk:
    """Consecutive non-blank lines, and how many blank lines came before them."""

    lines: tuple[tuple[int, int], ...]  # (start, end) of each line, end excludes the newline
    blank_before: int

    @property
    def start(self) -> int:
        return self.lines[0][0]

    @property
    def end(self) -> int:
        return self.lines[-1][1]


def corpus_files(folder: Path) -> list[Path]:
    """The corpus files of `folder`, sorted, so builds are reproducible."""
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES
    )


def read_text(path: Path) -> str:
    """A corpus file's text, as every offset into it counts: without the byte order mark some
    editors put first, newlines as "\n"."""
    return path.read_text(encoding="utf-8-sig")


def read_corpus(folder: Path) -> list[Document]:
    return [parse(str(path.relative_to(folder)), read_text(path)) for path in corpus_files(folder)]


def parse(source: str, text: str) -> Document:
    if source.lower().endswith(".md"):
        return parse_markdown(source, text)
    return parse_plain_text(source, text)


def _chunks(text: str) -> Iterator[_Chunk]:
    lines: list[tuple[int, int]] = []
    blank = 0
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        end = pos + len(body.rstrip())
        if body.strip():
            lines.append((pos + len(body) - len(body.lstrip()), end))
        else:
            if lines:
                yield _Chunk(tuple(lines), blank)
                lines, blank = [], 0
            blank += 1
        pos += len(raw)
    if lines:
        yield _Chunk(tuple(lines), blank)


def _is_heading_line(line: str) -> bool:
    line = line.strip()
    return (
        0 < len(line) <= MAX_HEADING_CHARS
        and len(line.split()) <= MAX_HEADING_WORDS
        and (line[-1] not in FINAL_PUNCTUATION or (line[-1] in "?:" and _is_capitals(line)))
        and not BULLET.match(line)
    )


def _is_capitals(line: str) -> bool:
    """A line in capitals ("WHO CALLS THE LAWYER?") is a heading even with a final question
    mark or colon, and even with its text right under it, without a blank line between; with a
    full stop it is a sentence ("NEVER LEAVE A DOOR UNATTENDED.")."""
    letters = [c for c in line if c.isalpha()]
    return len(letters) > 1 and all(c.isupper() for c in letters)


def _split_capital_headings(chunks: Iterator[_Chunk], text: str) -> Iterator[_Chunk]:
    for chunk in chunks:
        first = text[chunk.lines[0][0] : chunk.lines[0][1]]
        if len(chunk.lines) > 1 and _is_capitals(first) and _is_heading_line(first):
            yield _Chunk(chunk.lines[:1], chunk.blank_before)
            yield _Chunk(chunk.lines[1:], 0)
        else:
            yield chunk


def _numbered_heading(line: str, following: tuple[str, _Chunk] | None) -> bool:
    """Whether a numbered line alone ("3. Closing checks") heads a section rather than being a
    step of a list ("2. Lock the door" over "Done."): it is followed by another heading, or by
    a whole paragraph."""
    numbered = NUMBERED.match(line.strip())
    if numbered is None or not _is_heading_line(numbered.group(2)) or following is None:
        return False
    kind, chunk = following
    return kind == "heading" or (kind == "body" and chunk.end - chunk.start >= MIN_SECTION_CHARS)


def _numbering_depth(heading: str) -> int:
    """3 for "2.1.4 Scope", 1 for "2. Scope", 0 for a heading without a number."""
    numbered = NUMBERED.match(heading.strip())
    return numbered.group(1).count(".") + 1 if numbered else 0


def _is_noise(lines: list[str]) -> bool:
    """Lines of link-like titles (several short unpunctuated lines, not a list) are page chrome.

    Not when a line holds figures or a "label: value" pair: a list of phone numbers or opening
    hours is short unpunctuated lines too, and it is content.
    """
    return len(lines) > 1 and all(
        _is_heading_line(line) and not _FIGURES_OR_LABEL.search(line) for line in lines
    )


def parse_plain_text(source: str, text: str) -> Document:
    """Headings are lone short lines without final punctuation.

    Levels are inferred from layout: a heading followed directly by another heading opens a
    group (level 1) for the headings under it; two or more blank lines close the current
    section, as a removed heading would. A heading that opens the file is its title.
    """
    chunks = list(_split_capital_headings(_chunks(text), text))
    kinds: list[str] = []
    for chunk in reversed(chunks):  # a numbered line's kind depends on what follows it
        lines = [text[s:e] for s, e in chunk.lines]
        following = (kinds[-1], chunks[len(chunks) - len(kinds)]) if kinds else None
        if len(lines) == 1 and (
            _is_heading_line(lines[0]) or _numbered_heading(lines[0], following)
        ):
            kinds.append("heading")
        elif _is_noise(lines):
            kinds.append("noise")
        else:
            kinds.append("body")
    kinds.reverse()

    def line_after(i: int) -> str:
        return text[chunks[i + 1].start : chunks[i + 1].end] if i + 1 < len(chunks) else ""

    title: str | None = None
    group: str | None = None
    leaf: str | None = None
    blocks: list[Block] = []
    for i, (chunk, kind) in enumerate(zip(chunks, kinds, strict=True)):
        if chunk.blank_before >= 2:
            group = leaf = None
        if kind == "heading":
            line = text[chunk.start : chunk.end]
            nxt = kinds[i + 1] if i + 1 < len(kinds) else None
            numbered = _numbering_depth(line)
            if i == 0 and not numbered and (nxt == "body" or _numbering_depth(line_after(i))):
                title = line
            elif numbered > 1:  # "2.1 ...": under the "2." above it, whatever the layout
                leaf = line
            elif numbered or nxt == "heading":  # "3. ..." heads its text and any "3.1 ..."
                group, leaf = line, None
            elif _numbering_depth(group or ""):  # "Key contacts" after "5. ...": a sibling
                group, leaf = None, line
            else:
                leaf = line
        elif kind == "body":
            section = tuple(h for h in (group, leaf) if h)
            blocks.append(Block(text[chunk.start : chunk.end], chunk.start, chunk.end, section))
    return Document(source, text, title, tuple(blocks))


def parse_markdown(source: str, text: str) -> Document:
    """ATX (`#`) and setext headings; paragraphs may be hard-wrapped; fences stay whole; a
    thematic break (`---` after a blank line) is no text.

    A single level-1 heading (`#` or underlined with `===`) at the top is the document's
    title, not a section.
    """
    headings: list[tuple[int, str]] = []  # the open path, as (level, title)
    blocks: list[Block] = []
    h1_count = _level_one_headings(text)
    title: str | None = None
    seen_content = False

    def section() -> tuple[str, ...]:
        return tuple(t for _, t in headings)

    def open_heading(level: int, title_text: str) -> None:
        nonlocal title
        if level == 1 and h1_count == 1 and not seen_content and title is None:
            title = title_text
            return
        while headings and headings[-1][0] >= level:
            headings.pop()
        headings.append((level, title_text))

    def flush(para: list[tuple[int, int]]) -> None:
        nonlocal seen_content
        if para:
            start, end = para[0][0], para[-1][1]
            blocks.append(Block(text[start:end], start, end, section()))
            para.clear()
            seen_content = True

    for chunk in _chunks(text):
        para: list[tuple[int, int]] = []
        in_fence = False
        for s, e in chunk.lines:
            line = text[s:e]
            if MD_FENCE.match(line):
                in_fence = not in_fence
                para.append((s, e))
                continue
            if in_fence:
                para.append((s, e))
                continue
            m = MD_HEADING.match(line)
            if m:
                flush(para)
                open_heading(len(m.group(1)), m.group(2).strip())
                continue
            if not para and MD_BREAK.match(line):  # a rule between parts: no text
                continue
            if MD_SETEXT.match(line) and len(para) == 1:
                title_text = text[para[0][0] : para[0][1]].strip()
                para.clear()
                open_heading(1 if line.strip()[0] == "=" else 2, title_text)
                continue
            para.append((s, e))
        flush(para)
    return Document(source, text, title, tuple(blocks))


def _level_one_headings(text: str) -> int:
    """`# Title` lines, and `Title` lines underlined with `===`."""
    count, previous = 0, ""
    for line in _unfenced_lines(text):
        atx = MD_HEADING.match(line)
        setext = MD_SETEXT.match(line)
        if (atx and atx.group(1) == "#") or (setext and "=" in line and previous.strip()):
            count += 1
        previous = line
    return count


def _unfenced_lines(text: str) -> Iterator[str]:
    in_fence = False
    for line in text.splitlines():
        if MD_FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            yield line
