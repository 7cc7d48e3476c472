"""Cut document blocks into passages that fit the encoder and never cross a heading."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from service.documents import Block, Document

MAX_PASSAGE_CHARS = 1200
# Blocks shorter than this are joined to a same-section neighbour: a lone one-line list item or
# a two-word remark says too little for the encoder on its own.
MIN_PASSAGE_CHARS = 160

# A sentence ends at . ! ? (and closing quotes or brackets) followed by white space and a
# capital, digit, quote or bracket; a line break before a list bullet also ends one.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])|\n(?=\s*(?:[-*+•]|\d{1,3}[.)])\s)"
)
# "ext. 2210", "Capt. Drummond": abbreviations that end no sentence.
_ABBREVIATIONS = re.compile(
    r"\b(?:e\.g|i\.e|etc|vs|Mr|Mrs|Ms|Dr|St|No|Fig|approx|cf|ext|tel|Capt|Prof|Rev|Sgt|Insp|Cllr)\.$",
    re.I,
)
# How a Q&A writes a question and its answer: "Q:", "Question (from a driver):", "A (Sarah):".
_QUESTION = re.compile(r"(?:Q|Question)(?:\s*\([^)\n]{1,80}\))?:\s")
_ANSWER = re.compile(r"(?:A|Answer)(?:\s*\([^)\n]{1,80}\))?:\s")
# "1." opening a line numbers the step after it: not a sentence of its own.
_STEP_NUMBER = re.compile(r"(?:^|\n)\s*\d{1,3}\.$")


@dataclass(frozen=True)
class Span:
    start: int
    end: int


@dataclass(frozen=True)
class Passage:
    """A retrievable unit: exact text of `source` at [start, end), its section and sentences."""

    id: str
    source: str
    text: str
    start: int
    end: int
    section: tuple[str, ...]
    sentences: tuple[Span, ...]  # absolute offsets in `source`
    role: str | None = None
    role_scores: tuple[tuple[str, float], ...] = ()

    def sentence_texts(self) -> list[str]:
        return [self.text[s.start - self.start : s.end - self.start] for s in self.sentences]


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Sentence spans of `text` (shifted by `offset`), trimmed of surrounding white space."""
    spans: list[Span] = []
    begin = 0
    for m in _SENTENCE_END.finditer(text):
        piece = text[begin : m.start()]
        if _ABBREVIATIONS.search(piece) or _STEP_NUMBER.search(piece):
            continue
        spans.extend(_trimmed(text, begin, m.start(), offset))
        begin = m.end()
    spans.extend(_trimmed(text, begin, len(text), offset))
    return spans


def _trimmed(text: str, start: int, end: int, offset: int) -> Iterator[Span]:
    piece = text[start:end]
    if not piece.strip():
        return
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    yield Span(start + lead + offset, end - trail + offset)


def _pack(sentences: Sequence[Span], limit: int) -> Iterator[list[Span]]:
    """Greedy runs of whole sentences of at most `limit` characters (a longer sentence is cut)."""
    run: list[Span] = []
    for span in sentences:
        for piece in _cut(span, limit):
            if run and piece.end - run[0].start > limit:
                yield run
                run = []
            run.append(piece)
    if run:
        yield run


def _cut(span: Span, limit: int) -> Iterator[Span]:
    start = span.start
    while span.end - start > limit:
        yield Span(start, start + limit)
        start += limit
    yield Span(start, span.end)


def _merge_short(blocks: Sequence[Block], min_chars: int, max_chars: int) -> list[list[Block]]:
    """Group consecutive blocks of one section so that short ones ride with a neighbour."""
    groups: list[list[Block]] = []
    for block in blocks:
        last = groups[-1] if groups else None
        if (
            last is not None
            and last[-1].section == block.section
            and block.end - last[0].start <= max_chars
            and _belongs(block, last, min_chars)
        ):
            last.append(block)
        else:
            groups.append([block])
    return groups


def _belongs(block: Block, group: list[Block], min_chars: int) -> bool:
    """Whether `block` goes with the group before it: the answer to the question that ends it
    ("Q: ..." and, a paragraph on, "A: ..."); or either is short, unless `block` is a question,
    which opens an entry of its own (an FAQ's Q and A)."""
    if _ANSWER.match(block.text) and _asks(group[-1]):
        return True
    short = len(block.text) < min_chars or group[-1].end - group[0].start < min_chars
    return short and not _asks(block)


def _asks(block: Block) -> bool:
    """Whether a block is a question: it opens with one, or with "Q:" ("Q (driver):")."""
    first = next(iter(split_sentences(block.text)), None)
    return bool(_QUESTION.match(block.text)) or (
        first is not None and block.text[first.start : first.end].endswith("?")
    )


def chunk_document(
    doc: Document, max_chars: int = MAX_PASSAGE_CHARS, min_chars: int = MIN_PASSAGE_CHARS
) -> list[Passage]:
    passages: list[Passage] = []
    for group in _merge_short(doc.blocks, min_chars, max_chars):
        sentences = [span for block in group for span in split_sentences(block.text, block.start)]
        for run in _pack(sentences, max_chars):
            start, end = run[0].start, run[-1].end
            passages.append(
                Passage(
                    id=f"{doc.stem}#{len(passages) + 1}",
                    source=doc.source,
                    text=doc.text[start:end],
                    start=start,
                    end=end,
                    section=group[0].section,
                    sentences=tuple(run),
                )
            )
    return passages
