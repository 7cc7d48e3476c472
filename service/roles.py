"""The role book (`roles.toml`): finding roles in text and saying which role a passage is about.

A passage is *about* the role its section heading names and the role that is the subject of
its sentences, not a role it merely sets itself against ("Unlike the X, the Y ..."). Weights:

- the nearest heading that names roles counts most, an outer one less, one naming several less;
- a mention that opens a sentence or main clause (after any clause number, time, list bullet
  or emphasis: "11.4 The X ...", "- **X**: ..."), is the agent of a passive ("is done by the
  X") or has a relative clause of its own ("the X, who signs ...") counts more than one inside
  it, and most in a paragraph's first sentence; a sentence opening with "They", "He" or "She"
  counts again for the role the one before opened with;
- a mention inside a leading contrast or scene-setting clause ("Unlike X, ...", "While X ...,
  ...", "When X is away, ...") barely counts, and such a heading passes on to the one around it;
- a sentence that is the document's own record ("Owner: X. Version 4.2"), a paragraph opening
  with the document's version or with what the document is for ("This manual sets out ..."),
  a meeting's attendance, and a line of contacts or of who is who ("HO: Helen Okafor, Station
  Manager") count for no role;
- a passage that names no role takes the roles named around it (its section, then the parent)
  only if it points back to someone ("They ...") or speaks of roles together; amid several
  roles it is shared only in the second case, and otherwise it is about none.

When a second role weighs at least half as much as the first (the first opens the paragraph, the
second is the subject of a sentence after it), the passage is "shared"; under a heading that
names a role, the second must come closer. When no role is found, `None`.
A role's names are those roles.toml gives and those the documents give the people in it
("Gary", "DM": see service/people.py).
"""

from __future__ import annotations

import calendar
import itertools
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

SHARED = "shared"

HEADING_WEIGHTS = (4.0, 1.5, 0.75)  # nearest heading first
SUBJECT_WEIGHT = 1.5
# The subject of a paragraph's first sentence is what the paragraph is about, most often.
TOPIC_FACTOR = 2.0
MENTION_WEIGHT = 1.0
# Who sends a message: less than a role the message makes its subject, which then decides alone.
SENDER_WEIGHT = 0.5
CONTRAST_WEIGHT = 0.25
CONTEXT_WEIGHT = 0.2
# The runner-up role must reach this share of the leader's weight for the passage to be shared:
# half in a text that no heading names a role over, as when one role opens a paragraph (its
# subject counts double) and another is the subject of a sentence after it; more under a heading
# that names one, which says whose section the text is in.
SHARED_RATIO = 0.5
SHARED_RATIO_UNDER_HEADING = 0.6

# A sentence that opens by pointing back to someone named before ("They also ...", "Her list
# ..."); "them" or "their" inside a sentence more often means others ("the adults around them").
_REFERS_BACK = re.compile(r"(?:^|[.!?]\s+)(?:they|their|he|his|she|her)\b", re.I)
# A diary's sentence with its writer left out, opening with what they did: "Sprayed on 5
# Sept.", "Told SM and changed the plan."
_DIARY_VERB = re.compile(
    r"\W*(?:[A-Z][a-z]+ed|Told|Rang|Took|Sent|Made|Got|Put|Went|Gave|Spoke|Wrote|Met|Found|"
    r"Left|Kept|Brought|Bought|Paid|Sold|Caught|Fed|Did|Saw)\b"
)
# A greeting opening a message, before the name of whom it is written to: "Hi Tom,", "Morning
# Jo,", "Thanks Kerry."
_GREETING = re.compile(
    r"(?:^|\n)[^\w\n]*(?:hi|hello|hey|dear|(?:good\s+)?(?:morning|afternoon|evening)|thanks|"
    r"thank\s+you|cheers)\s*,?\s*$",
    re.I,
)
# A sentence whose subject is someone named before.
_PRONOUN_SUBJECT = re.compile(r"\W*(?:they|he|she)\b", re.I)
# Where a sentence's opening clause ends: a subject after it is not the one the sentence opens
# with ("She spots it, and the director decides").
_CLAUSE_MARK = re.compile(r"[,;:]")
# Words for several roles at once, or their working together; but a shared drive is a store,
# and a share of something or a file share no sharing.
_STORES = r"drives?|folders?|inbox(?:es)?|mailbox(?:es)?|calendars?|diar(?:y|ies)|files?|of"
_TOGETHER = re.compile(
    r"\b(?:roles?|both|each other|one another|everyone|everybody|together|jointly|joint|"
    rf"(?<!file )shared?(?!\s+(?:{_STORES})\b)|collaborat\w*|the others|whole team)\b",
    re.I,
)
# Words that open a clause setting the scene ("When the X is away, the Y ..."): background.
_SCENE_WORDS = r"when|whenever|while|if|once|until|unless|in case"
_CONTRAST_OPENERS = re.compile(
    r"^\W*(?:unlike|while|whereas|although|though|compared (?:to|with)|in contrast to|"
    rf"as opposed to|contrary to|like|beyond|{_SCENE_WORDS})\b",
    re.I,
)
# The open clause at the end of a text, if it sets the scene ("who covers if the PO is ill").
_SCENE = re.compile(rf"\b(?:{_SCENE_WORDS})\b[^,;:.?!]*$", re.I)
_SUBJECT_LEAD = re.compile(
    # a sentence's start, after a list bullet or emphasis if any ("- The X ...", "**X**: ...")
    r"(?:^\W*|[.;:!?]\s+|,\s+)"
    # a time or case set first: "On Thursday the X ...", "For a SEV1 the X ..."
    r"(?:(?:on|in|at|during|for|every|each)\s+(?:(?:a|an|the|each|every)\s+)?[\w-]+\s+)?"
    r"(?:(?:as|being|for|when|if|a|an|the|every|each|our|your|their|"
    r"successful|effective|good|great|new|meanwhile|moreover|furthermore|additionally|also|"
    r"however|then|so|and|but|"
    # words that only qualify the subject: "a named staff nurse", "the senior editor on duty"
    r"senior|junior|acting|deputy|duty|other|same|next|first|second|relevant|[a-z]+ed|[a-z]+-[a-z]+|"
    # or count it: "One technician from each site is on call", "All stewards carry ..."
    r"one|two|three|four|five|any|some|all|"
    # or single it out: "Only the director calls cut."
    r"only|just|even"
    r")\W+){0,4}$",
    re.I,
)
# A subject after a phrase set before it, or with words of its own before it, where a verb
# follows: "Within four weeks of completion the paralegal compiles ...", "The night shift CRO
# writes ...", "The section's Senior Keeper checks ...".
_FRONTED_SUBJECT = re.compile(
    r"(?:^\W*|[.;:!?]\s+)"
    # a phrase, not a clause: "After the meeting the X signs", not "After the Y signs"
    r"(?:(?:after|before|within|by|on|in|at|during|for|from|following)\s+[^,.;:!?]{1,60}?\s+)?"
    r"(?:the|a|an|each|every|our|your|their)\s+(?:[a-z][a-z-]*(?:['’]s)?\s+){0,2}$",
    re.I,
)
# "... and the X" and a verb after it: X opens a clause of its own.
_JOINED_CLAUSE = re.compile(
    r"\b(?:and|but|so|then)\s+(?:(?:the|a|an|each|every|our|your)\s+)?$", re.I
)
# "... to the night auditor, who signs for it": the X does what its relative clause says.
_RELATIVE_WHO = re.compile(r",\s+who\s+")
_FINITE_VERB = re.compile(
    r"\s+(?:(?:also|then|always|usually|often|only|just|still|never)\s+)?"
    r"(?:can|will|must|should|may|might|does|did|is|are|was|were|has|had|[a-z]+s|[a-z]+ed)\b"
)
# A document's own record: who owns, wrote, reviewed or approved it, its version, its next
# review, whom to ask about it ("Report by Karen Holt, DM early", "Typed up from the handover
# book by the senior", "Minutes taken by SP", "Questions about this plan: Marek Nowak, ...",
# "last edited 3 March 2025 by Dan Whitlock").
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*"
_DOCUMENT_CONTROL = re.compile(
    r"^\W*(?:[a-z]+\s+)?owner:|"
    r"^\W*(?:written|typed(?: up)?|taken|kept|compiled|copied|collated|put together|tidied up|"
    r"(?:report|notes|minutes|debrief)(?:\s+(?:taken|kept|written))?)"
    r"(?:\s+(?:from|into|onto|in|on|for|at)(?:\s+[\w-]+){0,3}?)?\s+by\b|"
    r"^\W*(?:questions|queries|comments|feedback)(?:\s+or\s+\w+)?\s+(?:about|on)\s+th(?:is|ese)\s+[a-z]+\b|"
    r"\b(?:version \d|issue \d|document (?:owner|control)|next review|"
    r"last (?:updated|edited|reviewed|revised)|"
    r"minutes of\b[^.]*\b(?:agreed|approved|accepted|signed)\b|"
    rf"(?:reviewed|approved|issued)\b[^.]*\b{_MONTH},? (?:19|20)\d\d\b)",
    re.I,
)
# A message's own record: its sender, recipients, date and subject; and its sign-off, the short
# lines before the "--" that opens its signature ("Thanks all,", "Daniel"), and the signature.
_MESSAGE_HEADER = re.compile(r"^(?:from|sent|date|to|cc|bcc|subject):.*$", re.I | re.M)
# A meeting's own record: who came, who sent apologies ("Present: HO (chair), DM, SP."), on a
# line of its own or after the sentence that opens the meeting ("JE opened the meeting at
# 7.30pm. Present: ...").
_ATTENDANCE = re.compile(
    r"(?:^|(?<=[.!?]))\W*(?:present|attendees|attending|(?:also )?in attendance|apologies|"
    r"absent)\s*:.*$",
    re.I | re.M,
)
_SIGNATURE = re.compile(r"^(?:[^\n.!?]{0,40}\n){0,2}--[ \t]*$.*?(?=\n\s*\n|\Z)", re.M | re.S)
# What ends a speaker's label: "**Priya:**", "Gareth (PM):".
_SPEAKER_LABEL_END = re.compile(r"[*_]*\s*(?:\([^)]*\)\s*)?:")
# A question or answer labelled with who asks or answers: "A (Grace Adeyemi, IO): ...".
_EXCHANGE_LABEL = re.compile(r"[\s*_>#•-]*[QA]\s*\(([^)\n]{1,120})\)\s*:")
# A log entry's writer, alone once its time is taken off: "08:15 RP. Fed the lions."
_ENTRY_LABEL = re.compile(r"\W*[^\W\d][\w'’ -]{0,40}?\W*")
# Who wrote the report, notes, log or email around a text, on its record line: "Report by Karen
# Holt, DM early, 0430-1300.", "Written by Tamsin Okafor (DSM) after each show", "From: Tom
# Hargreaves <...>".
_WRITTEN_BY = re.compile(
    r"(?:^|[.!?]\s+)\W*(?:written|(?:report|notes|log|diary|debrief|handover)(?:\s+written)?)"
    r"\s+by\b([^.\n]*)|^From:([^\n]*)",
    re.I | re.M,
)
# Day and month names: a date, never a person ("Receptionist: Tuesdays.").
DAYS_AND_MONTHS = frozenset((*calendar.day_name, *calendar.month_name[1:]))
# What may stamp a message before its sender's label: "Sat 2 Aug, 09:52 - Denise (SM): ...".
_STAMP_WORDS = frozenset(
    w.lower() for w in (*DAYS_AND_MONTHS, *calendar.day_abbr, *calendar.month_abbr[1:], "Sept")
)
# The one speaking or writing, in the first person ("we" is as often the team or the firm).
_FIRST_PERSON = re.compile(r"\b(?:I|[Mm]e|[Mm]y)\b")
_APOSTROPHE = re.compile(r"['’]")  # straight, or curly as word processors write it
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# What opens one noun phrase: role names right after it name one person ("a vet nurse").
_ONE_NOUN_PHRASE = re.compile(
    r"\b(?:a|an|the|my|our|your|their|his|her|each|every|this|that)\s+$", re.I
)
# A paragraph opening with the document's version: "Version 2.3, January 2025.", "Issue 7, March
# 2024.", "Revision C, issued March 2024", "*Edition 4, January 2025.*"; with who keeps it: "*Kept
# by Helen Taylor, Training Coordinator. Each entry is written up ...*"; or with what minutes
# these are: "Minutes of the monthly team leaders' meeting held on ...".
_RECORD_OPENING = re.compile(
    r"\W*(?:(?:version|issue|revision|edition)\s+[\w.]+,|minutes of the\b|"
    r"(?:written|kept|compiled)\s+by\b)",
    re.I,
)
# ... or with what the document is for: "This manual sets out how the branch runs", "1.1 These
# Station Operating Procedures (SOPs) set out ...", "This handbook tells you how the park runs".
_SCOPE_OPENING = re.compile(
    r"\W*(?:\d+(?:\.\d+)*\s+)?(?:this|these)\s+(?:[\w()-]+\s+){0,4}?"
    r"(?:manual|handbook|guide|procedures?|polic(?:y|ies)|standards|plan|file|document|sops?)"
    r"(?:\s+\([^)]*\))?\s+(?:sets? out|explains?|describes?|covers?|tells? you)\b",
    re.I,
)
# A way to reach someone: a phone number ("01632 960 300", "07700 900311"), an extension
# ("ext. 2210") or an email address.
_CONTACT = re.compile(
    r"\b0\d{2,4}[ -]?\d{3}[ -]?\d{3,4}\b|\bext\.?\s*\d{2,5}\b|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.I
)
# What may come before a person's name.
TITLES = frozenset(
    {"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Professor", "Sir", "Dame", "Sister"}
    | {"Revd", "Rev", "Fr", "Cllr"}  # clergy and councillors
)
# Two capitalised words: a first name and a surname ("Priya Nair", "Siobhan O'Kelly").
SURNAME = r"[A-Z][\w'’-]*[a-z]"
NAME = rf"[A-Z][a-z]+ {SURNAME}"

# A key or a rota: a label, then the full name of who it is ("HO: Helen Okafor", "Techs on
# days: Dan Ricketts"); or the full name and its initials, then what they are ("Margaret
# Ellwood (ME) - Chair, trustee").
_FULL_NAME = rf"(?:(?:{'|'.join(sorted(TITLES))})\.?\s+)?{NAME}"
_WHO_IS_WHO = re.compile(
    rf"(?:^|(?<=[.;]))[\s*_-]*(?:[A-Z][\w' ]{{0,30}}?:\s*{_FULL_NAME}|"
    rf"{_FULL_NAME}\s*\([A-Z]{{2,4}}\)\s*[-\u2013\u2014:]\s)",
    re.M,
)
# A directory entry is a line of contacts or names, and a few words to label them.
_DIRECTORY_WORDS = 8
_LETTER_WORD = re.compile(r"[^\W\d_]+")
# What numbers a clause or times a log entry, opening its sentence: "11.4 Swimming teachers lead
# ...", "(3) The DM ...", "08:40 Dan R: ...". The sentence's subject comes after it.
_NUMBERED = re.compile(r"^\s*(?:\(?\d{1,3}(?:\.\d{1,3})*[.)]?|\d{1,2}:\d{2})\s+")
# A question (or a heading) asking which role: "who", "whom", "whose".
WHO = re.compile(r"\bwho(?:m|se)?\b", re.I)
_COORDINATION = re.compile(r",?\s+(?:and|or|nor|&)\s+(?:(?:a|an|the)\s+)?", re.I)
# "... is done by the X": X does it, as much as a subject does (not "a crew member nominated
# by the X": without "is", "was", "be"..., the X only qualifies someone else). So does each
# agent of a list of participles that share the one "is": "is drafted by the 2nd AD, checked
# by the 1st AD and signed off by the producer". A word may qualify the agent: "is done by the
# other quality analyst".
_BY = re.compile(
    r"\b(?:is|are|was|were|be|been|being|gets?|got)\s+(?:\w+\s+)?\w+\s+by\s+"
    r"(?:[^.;:!?]*?(?:,|\band|\bor|\bthen)\s+(?!not\b|never\b)(?:\w+\s+)?\w+\s+by\s+)?"
    r"(?:(?:the|a|an|each|every|any|one|their|our|your)\s+)?(?:(?!and\b|or\b)[a-z][a-z-]*\s+)?$",
    re.I,
)
# What follows a subject that denies it does the thing: "X does not", "X never", "X can't".
_DENIED = re.compile(r"\s*(?:(?:\w+\s+){0,2}?(?:not|never|no longer)\b|\w+n't\b|cannot\b)", re.I)
# What comes before a passive's agent that denies it does the thing: "must not be restarted by
# the operators", "are never granted by the desk".
_DENIED_BEFORE_AGENT = re.compile(
    r"(?:\bnot|\bnever|n't)\s+(?:\w+\s+){0,2}?\w+\s+by\s+(?:[\w'-]+\s+){0,3}$", re.I
)
# A denial with terms ("not ... unless", "except") says when the role does it, not that it does
# not.
_CONDITION = re.compile(r"\b(?:unless|except|until|without)\b", re.I)


@dataclass(frozen=True)
class Role:
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Mention:
    role: str
    start: int
    end: int


@dataclass(frozen=True)
class Attribution:
    role: str | None
    scores: dict[str, float]


@dataclass
class RoleBook:
    roles: tuple[Role, ...]
    # Names the documents give people in a role, to the role ("Helen Marsh", "Helen", "DM";
    # see service/people.py): aliases of this corpus that roles.toml does not hold.
    people: Mapping[str, str] = field(default_factory=dict)
    _pattern: re.Pattern[str] = field(init=False, repr=False)
    _by_name: dict[str, str] = field(init=False, repr=False)
    _people: set[str] = field(init=False, repr=False)
    _initialisms: set[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.roles:
            raise ValueError("roles.toml names no role: add at least one [[role]] with a name")
        names = [r.name for r in self.roles]
        if len({n.lower() for n in names}) != len(names):
            raise ValueError(f"roles.toml names a role twice: {names}")
        if SHARED in {n.lower() for n in names}:
            raise ValueError(f"'{SHARED}' is reserved and cannot be a role name")
        self._by_name = {}
        for role in self.roles:
            for alias in role.names:
                self._by_name.setdefault(_norm(alias), role.name)
        people = {
            n: r for n, r in self.people.items() if r in names and _norm(n) not in self._by_name
        }
        self._by_name.update({_norm(n): r for n, r in people.items()})
        self._people = {_norm(n) for n in people}
        # A person's one name ("Helen", "DM") counts as written; a full name or a nickname
        # ("the guvnor") in any case.
        as_written = {n for n in people if " " not in n and not n.islower()}
        # Longest alias first, so "Safe Product Manager" wins over "Product Manager".
        aliases = sorted(
            {a for r in self.roles for a in r.names} | (people.keys() - as_written),
            key=len,
            reverse=True,
        )
        named = "(?i:" + "|".join(_spelled(a) for a in aliases) + ")"
        # Initials of multi-word names ("PO", "PM") count too, in capitals only ("pm" is a time,
        # "pc" a computer, "ha" a laugh), and not after a figure ("5 PM").
        initials = {
            _initials(a) for r in self.roles for a in r.names if _initials(a) != a.upper()
        } - {_norm(a).upper() for a in aliases}
        self._initialisms = set()
        for role in self.roles:
            for alias in role.names:
                key = _norm(_initials(alias))
                if _initials(alias) in initials and key not in self._by_name:
                    self._by_name[key] = role.name
                    self._initialisms.add(key)
        exact = initials | as_written
        acronyms = "|".join(_spelled(a) for a in sorted(exact, key=len, reverse=True))
        either = f"{named}|(?<!\\d)(?<!\\d )(?:{acronyms})" if acronyms else named
        self._pattern = re.compile(rf"(?<![\w-])({either})(?:'?s|es|')?(?![\w-])")

    @classmethod
    def load(cls, path: Path) -> RoleBook:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path} is not valid TOML: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> RoleBook:
        entries = data.get("role")
        if not isinstance(entries, list):
            raise ValueError("roles.toml needs [[role]] tables, each with a name")
        roles = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise ValueError("every [[role]] in roles.toml needs a name")
            aliases = entry.get("aliases", [])
            if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
                raise ValueError(f"aliases of role {entry['name']!r} must be a list of strings")
            roles.append(
                Role(entry["name"].strip(), tuple(aliases), str(entry.get("description", "")))
            )
        return cls(tuple(roles))

    def to_dict(self) -> dict[str, object]:
        return {
            "role": [
                {"name": r.name, "aliases": list(r.aliases), "description": r.description}
                for r in self.roles
            ]
        }

    def with_people(self, people: Mapping[str, str]) -> RoleBook:
        """This book, knowing also the people the documents name in each role."""
        return replace(self, people={**self.people, **people})

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.roles]

    def canonical(self, name: str) -> str | None:
        """The role called `name` (any alias, any case), or None."""
        return self._by_name.get(_norm(name))

    def written(self, name: str) -> str | None:
        """The role roles.toml (or a person's name) calls `name`: as `canonical`, but not by
        initials it only guesses from an alias ("SM" from "Shop Manager")."""
        key = _norm(name)
        return None if key in self._initialisms else self._by_name.get(key)

    def mentions(self, text: str) -> list[Mention]:
        """The roles `text` names, in order. A name right before another, after an article,
        only qualifies it: "the vet nurse" is one mention, of a nurse ("runner producer ad",
        keywords with no article, names each)."""
        found: list[Mention] = []
        for m in self._pattern.finditer(text):
            role = self._by_name[_norm(m.group(1))]
            last = found[-1] if found else None
            if (
                last is not None
                and last.role != role
                and not text[last.end : m.start()].strip()
                and _ONE_NOUN_PHRASE.search(text, 0, last.start)
            ):
                found[-1] = Mention(role, last.start, m.end())
            else:
                found.append(Mention(role, m.start(), m.end()))
        return found

    def asked_about(self, question: str) -> list[Mention]:
        """The roles a question (or a heading) asks about: those it names, but for one inside
        a clause that only sets the scene ("who is in charge when the Head Chef is away?")."""
        return [m for m in self.mentions(question) if not _sets_the_scene(question[: m.start])]

    def strip_mentions(self, text: str, mentions: Sequence[Mention] | None = None) -> str:
        """`text` without its role mentions (or just `mentions`), so the rest of a question
        can be matched alone."""
        kept, at = [], 0
        for m in self.mentions(text) if mentions is None else mentions:
            kept.append(text[at : m.start])
            at = m.end
        kept.append(text[at:])
        return re.sub(r"\s{2,}", " ", " ".join(kept)).strip()

    def _weigh_text(self, text: str, writer: str | None = None) -> dict[str, float]:
        weights: dict[str, float] = {}
        sentences = _sentences(_without_record(text))
        subjects: set[str] = set()  # the roles the sentence before was about, as its subject
        speaker = writer  # the role of whoever is speaking or writing, if known
        for n, sentence in enumerate(sentences):
            if _DOCUMENT_CONTROL.search(sentence):
                continue  # "Owner: Store Manager. Version 4.2": about the document
            found = self.mentions(sentence)
            label, speaker = self._label(sentence, found, speaker)
            if speaker is not None:
                if _FIRST_PERSON.search(sentence, label) or _DIARY_VERB.match(sentence, label):
                    # "I've dispensed meloxicam", "RP and I think ...", "Sprayed on 5 Sept":
                    # the speaker's own work.
                    weights[speaker] = weights.get(speaker, 0.0) + SUBJECT_WEIGHT
                elif label and not _EXCHANGE_LABEL.match(sentence):
                    # "TA: powdery mildew in block 2": a message or a log entry is its sender's
                    # news, unless it says what another role does (an exchange's "Q (Priya,
                    # AO): ..." asks another).
                    weights[speaker] = weights.get(speaker, 0.0) + SENDER_WEIGHT
            contrast_end = _contrast_clause_end(sentence)
            previous: tuple[int, float] | None = None  # end and weight of the last mention
            leading: set[str] = set()
            for m in found:
                if m.end <= label:
                    continue  # "**Priya:** One pack per customer": what is said, not who says it
                if _GREETING.search(sentence, 0, m.start):
                    continue  # "Morning Tom, Alfie is beside himself": who is written to
                if previous and _COORDINATION.fullmatch(sentence[previous[0] : m.start]):
                    w = previous[1]  # "the X and the Y": coordinated mentions weigh alike
                elif m.start < contrast_end:
                    w = CONTRAST_WEIGHT
                elif _leads(
                    before := sentence[max(contrast_end, label) : m.start], sentence[m.end :]
                ):
                    w = SUBJECT_WEIGHT * (TOPIC_FACTOR if n == 0 and len(sentences) > 1 else 1.0)
                    if not _CLAUSE_MARK.search(before):  # the subject the sentence opens with
                        leading.add(m.role)
                else:
                    w = MENTION_WEIGHT
                weights[m.role] = weights.get(m.role, 0.0) + w
                previous = (m.end, w)
            if not leading and len(subjects) == 1 and _PRONOUN_SUBJECT.match(sentence):
                # "A triager ... They lock the thread.": the same subject again.
                leading = subjects
                weights[next(iter(subjects))] += SUBJECT_WEIGHT
            subjects = leading
        return weights

    def _label(
        self, sentence: str, found: Sequence[Mention], speaker: str | None
    ) -> tuple[int, str | None]:
        """Where a label saying who speaks ends (0: none), and the role of who speaks from here.

        A chat's "**Priya:** ..." and an exchange's "A (Grace Adeyemi, IO): ..." say who speaks:
        the label is passed over as a mention (the sender counts apart). A log entry's "08:15
        RP." says who did what it records: the label counts, and is all the sentence (its time
        taken off).
        `found` are the sentence's mentions; `speaker`, who spoke before it.
        """
        if (exchange := _EXCHANGE_LABEL.match(sentence)) and (
            named := [m for m in found if m.end <= exchange.end(1)]
        ):
            return exchange.end(), named[0].role
        if not found or not _stamp(sentence[: found[0].start]):
            return 0, speaker
        first = found[0]
        if _norm(sentence[first.start : first.end]) not in self._people:
            return 0, speaker
        if label := _SPEAKER_LABEL_END.match(sentence, first.end):
            return label.end(), first.role
        if _ENTRY_LABEL.fullmatch(sentence) and len(found) == 1:
            return 0, first.role
        return 0, speaker

    def _writer(self, tiers: Sequence[Sequence[str]]) -> str | None:
        """The role of whoever the nearest record line in `tiers` (of texts, nearest first) says
        wrote them."""
        for tier in tiers:
            for other in tier:
                for line in _WRITTEN_BY.finditer(other):
                    if found := self.mentions(line[1] or line[2]):
                        return found[0].role
        return None

    def doers(self, text: str) -> dict[str, bool]:
        """The roles `text` says do something (True) or do not (False, "X does not ...", "is
        never done by X"): those it names as a subject, or as the agent of a passive ("done by
        the X"). A role named in passing, or in a contrast or scene-setting clause, neither
        does nor denies."""
        found: dict[str, bool] = {}
        for sentence in _sentences(text):
            contrast_end = _contrast_clause_end(sentence)
            # Subjects ("the X and the Y"), where they end, and whether a passive denies them.
            groups: list[tuple[list[str], int, bool]] = []
            for m in self.mentions(sentence):
                before = sentence[max(contrast_end, 0) : m.start]
                if groups and _COORDINATION.fullmatch(sentence[groups[-1][1] : m.start]):
                    groups[-1] = ([*groups[-1][0], m.role], m.end, groups[-1][2])
                elif m.start > contrast_end and _leads(before, sentence[m.end :]):
                    groups.append(([m.role], m.end, bool(_DENIED_BEFORE_AGENT.search(before))))
            for roles, end, denied in groups:
                does = not (denied or _DENIED.match(sentence, end))
                if not does and _CONDITION.search(sentence, end):
                    continue  # "X does not merge it unless Y approved": X merges, on terms
                for role in roles:
                    found[role] = found.get(role, False) or does
        return found

    def attribute(
        self, text: str, section: Sequence[str] = (), context: Sequence[Sequence[str]] = ()
    ) -> Attribution:
        """The role `text` is about, given its section path and its surroundings.

        `context` holds tiers of neighbouring texts, nearest first (the rest of the section,
        then the rest of the parent section): a tier is read only when nothing nearer names a
        role.
        """
        scores = {name: 0.0 for name in self.names}
        # A heading that sets a role against another ("Compared with the X") does not make
        # the section about X: it passes the weight on to the next heading out.
        # So does one asking who does what when a role is away ("Who covers when the DSL is
        # off?"), unlike "What happens if the purser is taken ill?", which is about the purser.
        named = (
            {m.role for m in (self.asked_about(h) if WHO.search(h) else self.mentions(h))}
            for h in reversed(section)
            if not _CONTRAST_OPENERS.match(h)
        )
        for found, weight in zip((f for f in named if f), HEADING_WEIGHTS, strict=False):
            for role in found:
                # A heading naming several roles ("X vs Y") says the section is about them
                # together, not which one a passage is about: it weighs less, the text decides.
                scores[role] += weight / len(found) ** 2
        headed = any(scores.values())
        # "I held BWA12 on stand" in a report whose record line says who wrote it.
        writer = self._writer([[text], *context]) if _FIRST_PERSON.search(text) else None
        for role, w in self._weigh_text(text, writer).items():
            scores[role] += w
        borrowed = not any(scores.values())
        together = any(speaks_of_roles_together(t) for t in (text, *section))
        # A text that names no role takes its surroundings' only if it points back to someone
        # ("They ...") or speaks of roles together: "The site opens at 07:30." is about none,
        # and so is the document's record ("These procedures set out ... They apply to all
        # staff"), whose "they" is the document.
        for tier in context if together or _REFERS_BACK.search(_without_record(text)) else ():
            if any(scores.values()):
                break
            for other in tier:
                for role, w in self._weigh_text(other).items():
                    scores[role] += CONTEXT_WEIGHT * w
        total = sum(scores.values())
        if total == 0:
            return Attribution(None, scores)
        probs = {name: round(s / total, 4) for name, s in scores.items()}
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        ratio = SHARED_RATIO_UNDER_HEADING if headed else SHARED_RATIO
        if len(ranked) > 1 and ranked[1][1] >= ratio * ranked[0][1]:
            # Surroundings about several roles make a text that names none about them all only
            # if it speaks of them together ("each role", "everyone", "Working together"); if
            # not, it is about none (an introduction, the office's facts).
            return Attribution(SHARED if together or not borrowed else None, probs)
        return Attribution(ranked[0][0], probs)


def speaks_of_roles_together(text: str) -> bool:
    """Whether `text` speaks of several roles at once or of their working together ("both",
    "each role", "jointly", "Working together")."""
    return bool(_TOGETHER.search(text))


def _leads(before: str, after: str) -> bool:
    """Whether a mention between `before` and `after` is who does what its clause says: its
    subject, the agent of a passive ("written by the X"), the subject of a clause joined by
    "and" ("... and the kitman brings a clean shirt"), or of a relative clause of its own
    ("handed to the night auditor, who signs for it")."""
    return bool(
        _SUBJECT_LEAD.search(before)
        or _BY.search(before)
        or (_FRONTED_SUBJECT.search(before) and _FINITE_VERB.match(after))
        or (_JOINED_CLAUSE.search(before) and _FINITE_VERB.match(after))
        or _RELATIVE_WHO.match(after)
    )


def _stamp(text: str) -> bool:
    """Whether `text`, before a message's label, is nothing but markup, a date or a time."""
    return all(w.lower() in _STAMP_WORDS for w in _LETTER_WORD.findall(text))


def _initials(name: str) -> str:
    """ "Product Owner" -> "PO"; a name already holding an acronym ("SAFe PM") has none."""
    words = name.split()
    if len(words) < 2 or any(sum(c.isupper() for c in w) > 1 for w in words):
        return name.upper()
    return "".join(w[0] for w in words).upper()


def _norm(name: str) -> str:
    """ "Editor-in-Chief", "editor in  chief"; "P.O.", "PO"; "Heads of Year"; "Secretaries":
    one key each."""
    words = _APOSTROPHE.sub("", name.lower()).replace(".", "").replace("-", " ").split()
    return " ".join(_singular(w, f) for w, f in itertools.pairwise([*words, ""]))


def _singular(word: str, following: str) -> str:
    """A word of a name as its key: singular before "of" ("Heads of Year") and last
    ("Secretaries")."""
    if following in ("of", "in"):
        return word.removesuffix("s")
    return re.sub(r"ies$", "y", word) if not following else word


def _spelled(alias: str) -> str:
    """A pattern for `alias` however it is written: words apart or hyphenated ("product-owner"),
    initials with or without dots ("P.O."), in the plural before "of" ("Heads of Year") or of
    a last "y" ("Secretaries")."""
    words = re.split(r"[\s-]+", alias.strip())
    return r"[\s-]+".join(_word_pattern(w, f) for w, f in itertools.pairwise([*words, ""]))


def _word_pattern(word: str, following: str) -> str:
    """A word of a name however written: initials with or without dots, plural before "of" or
    last."""
    if word.isalpha() and word.isupper() and 2 <= len(word) <= 5:
        return rf"(?:{re.escape(word)}|{'[.]'.join(map(re.escape, word))}\.?)"
    if following.lower() in ("of", "in"):
        return rf"{re.escape(word)}s?"
    if not following and re.search(r"[^aeiou][yY]$", word):
        return rf"{re.escape(word[:-1])}(?:y|ies)"
    # "Children's", "Children’s" (as word processors write it) and "childrens" alike.
    return "['’]?".join(re.escape(part) for part in _APOSTROPHE.split(word))


def _without_record(text: str) -> str:
    """`text` without its paragraphs that open with the document's own record: "Version 2.3,
    January 2025. Written by the practice manager. Please read it in your first week." is
    about the document, every sentence of it. Nor is an email's "From: Daniel Okafor", or its
    sign-off and signature ("Thanks all, Daniel -- Daniel Okafor | Branch Manager"), about the
    sender, nor the minutes' "Present: HO (chair), DM, SP" about who came."""
    for record in (_MESSAGE_HEADER, _ATTENDANCE, _SIGNATURE):
        text = record.sub("", text)
    paragraphs = _PARAGRAPH_BREAK.split(text)
    kept = (
        "\n".join(line for line in p.split("\n") if not _directory_entry(line)) for p in paragraphs
    )
    return "\n\n".join(p for p in kept if not _opens_with_record(p))


def _opens_with_record(paragraph: str) -> bool:
    """Whether `paragraph` opens with the document's version, or with what the document is for
    and says nothing of the roles together (the clinic's "This part of the staff handbook
    describes the four roles ..." is about them all)."""
    if _RECORD_OPENING.match(paragraph):
        return True
    return bool(_SCOPE_OPENING.match(paragraph)) and not speaks_of_roles_together(paragraph)


def _directory_entry(line: str) -> bool:
    """Whether `line` is a directory's, about no role: contact details ("- Ops room (Duty
    Manager): ext 2200, mobile 07700 900311") or who is who ("HO: Helen Okafor, Station Manager
    (chair)", "SS: Sian Brennan. RCC: Craig Dunn."), and no more than a few words else."""
    if not (_CONTACT.search(line) or _WHO_IS_WHO.match(line)):
        return False
    rest = _WHO_IS_WHO.sub(" ", _CONTACT.sub(" ", line))
    return len(_LETTER_WORD.findall(rest)) <= _DIRECTORY_WORDS


def _sentences(text: str) -> list[str]:
    """The sentences of `text`, each without the clause number or time it opens with."""
    return [_NUMBERED.sub("", s) for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]


def without_scene(text: str) -> str:
    """`text` without the scene-setting clause it ends with: "who phones 999 if a patient
    collapses" asks who phones 999."""
    clause = _SCENE.search(text)
    return text[: clause.start()] if clause and text[: clause.start()].strip() else text


def _sets_the_scene(before: str) -> bool:
    """Whether a mention after `before` is inside a scene-setting clause that follows the
    start of the text ("When should the PO ..." asks about the PO: that "when" asks)."""
    clause = _SCENE.search(before)
    return clause is not None and bool(before[: clause.start()].strip())


def _contrast_clause_end(sentence: str) -> int:
    """End of a leading contrast clause ("Unlike the X," ...), or -1 when there is none."""
    if not _CONTRAST_OPENERS.match(sentence):
        return -1
    comma = sentence.find(",")
    return comma if comma >= 0 else -1
