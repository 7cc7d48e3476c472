"""The people the documents name in a role, so that what they do counts for the role they hold.

Handbooks, minutes and contact lists name someone in a role once ("Gary Lund is the general
foreman", "Warehouse Lead (DM)") and then write only "Gary" or "DM reported ...". roles.toml
cannot know these names; the documents say them in a few set ways:

- "Gary Lund is the general foreman", "Sue Hargreaves has been our Kennel Manager since 2016",
  "Priya Nair, our research technician, ...";
- "The lab manager, Helen Marsh, ...", "Head Coach: Gary Pennock, 07700 ...";
- "Priya Raman (1st AD)", "Warehouse Lead (DM)", "your WC (the guvnor)";
- a who's who: "**Dental nurses**: Jade (lead nurse), Aisha, and Connor".

A person is then known by the full name, by the first name alone, and by their initials where
the documents pair them with the name ("RP is Rhian Pugh", "Tom Heston (TH, ...)"), as diaries
and minutes do before writing "08:15 RP. Fed the lions" or "TH reported the figures"; such
initials win over a role's that roles.toml never writes ("SM: Sophie Marchal, head winemaker",
where "SM" would otherwise be a Shop Manager). A name the documents give to two roles, or that
roles.toml already gives, is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from service.lexical import STOPWORDS
from service.roles import DAYS_AND_MONTHS, NAME, SURNAME, TITLES, RoleBook

# Anyone: a full name, or a first name alone ("Karen"), where the form leaves no doubt.
_PERSON = rf"\b(?:{NAME}|[A-Z][a-z]+)"
# What may stand in brackets after a role: a name, initials, or a nickname after "the".
_IN_BRACKETS = re.compile(rf"\s*\(\s*(?:the\s+([a-z][a-z'-]+)|({NAME})|([A-Z]{{2,4}}))\s*\)")
# A name saying who holds the role after it: "Gary Lund is the", "Sam Okafor is head", "Priya
# Nair, our". A first name alone only before ", our": "talk to Tamsin, our community manager",
# not "Housekeeping is the foreman's obsession".
_NAME_IS = re.compile(
    rf"({NAME}|[A-Z][a-z]+(?=\s*,\s+our\s))"
    r"(?:\s+(?:is|was|has been)\s+(?:(?:the|our|your|their|a|an)\s+)?|"
    r"(?P<beside>\s*,\s+)(?:the|our|your|their|a|an)\s+)(?:[a-z]+\s+)?$"
)
# ... where a role set beside a name by a comma ends its phrase: "Priya Nair, our research
# technician, runs the lab", not "within 30 km of Hollins Moor, the CRO tells every team".
_APPOSITION_END = re.compile(r"\s*(?:[,.;:)]|$)")
# A name labelled with the role after it: "Priya Raman (1st AD)", "Jade (lead nurse)", "Helen
# Marsh, Lab Manager:", "Karen Holt, Practice Manager.", "Daniel Mensah, night auditor, at 06:40",
# "Beth Alder (our RVN)", "Tom Heston (TH, Senior Workforce Planner)", "Fran Hollis, shop, tours
# and events (CDM)"; but not "Alison Reid, Superintendent Pharmacist", who is not a pharmacist
# of the role.
_NAME_LABELLED = re.compile(
    rf"(?:({NAME})\s*(?:\(|,(?:[^().!?;:\n]{{1,60}}\()?)|({_PERSON})\s*\()"
    r"\s*(?:[A-Z]{2,4}\s*,\s*)?(?:(?:our|the|their|a|an|[Ss]enior|[Ll]ead)\s+)?$"
)
# ... and nothing after the role but its team ("Dan Whitfield (DW, TL Billing)"), closing
# markup, or a remark in brackets: "*Helen Okafor, Station Manager*", "HO: Helen Okafor,
# Station Manager (chair)".
_LABEL_END = re.compile(r"(?:\s+[A-Z][\w&-]*){0,3}\s*[),:.]|[*_]*[ \t]*(?:\(|$)", re.M)
# A role labelled with the names after it, in a list or a who's who: "Head Coach: Gary Pennock,",
# "**Dental nurses**: Jade (lead nurse), Aisha, and Connor, who's ...", "Practice manager: Karen.".
_BRACKETED = r"(?:\s*\([^)]*\))?"
_JOINED = r"(?:\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+)"  # ", ", ", and ", " and ", " & "


def _listed(item: str) -> str:
    """A pattern for one or more `item`s, listed: "Jade, Aisha, and Connor"."""
    return rf"{item}(?:{_JOINED}{item})*"


_LISTED = re.compile(
    rf"[*_]*\s*:\s+({_listed(_PERSON + _BRACKETED)})(?=\s*(?:[,;.)]|$))",
    re.M,
)
# ... where the label is the role, not a longer title ending in one of its names ("Stadium
# manager: Phil Carver" for a head coach called "the manager"): only markup, punctuation or an
# article may come before it on its line.
_LABEL_START = re.compile(r"(?:^|[.;:!?(|]|\b(?:the|our|your|their|a|an))[\s*_#>•-]*$", re.M)
# Names labelled with the role after them, opening a list item of a who's who: "- **Priya**: our
# regular pharmacist, Monday to Friday", "**Megan, Josh and Sadia**: dispensers, on the counter".
# The role ends the label ("Tom: the dispenser should ..." is a message, not a label).
_WHO_IS = re.compile(
    rf"^\s*(?:[-*•]\s+(?:\*\*|__)?|\*\*|__)({_listed(_PERSON)})[*_]*\s*:[*_]*\s+"
    r"(?:(?:our|the|your|a|an)\s+)?(?:[\w-]+\s+){0,2}$",
    re.M,
)
_WHO_IS_END = re.compile(r"\s*(?:[,;.(]|\s(?:and|&|-|\u2013|\u2014)\s|$)", re.M)
# A role with a name set beside it: "General Foreman, Gary Lund: 07700 ...", "the lab manager,
# Helen Marsh, keeps ...".
_NAME_APPOSED = re.compile(rf",\s+({NAME})(?=\s*[,:])")
# A capitalised word right before a would-be name makes it part of a longer one ("the Collections
# Development Panel"), unless it is a title ("Dr Priya Nandra") or initials ("HN Hana Novak").
_CAPITALISED_BEFORE = re.compile(r"([A-Z][a-z][\w'’-]*) $")
_ARTICLES = frozenset({"The", "A", "An", "Our", "Your", "Their", "Each", "Every"})
# A role named after a comma: one item of a list.
_LIST_ITEM = re.compile(r",\s*$")
_ADDRESS = re.compile(r"\S+@\S+|\w+://\S+")
_REACH = 80  # how far back a name, or the word before it, is looked for


def people_in(texts: Sequence[str], book: RoleBook) -> dict[str, str]:
    """Each name the texts give someone in a role (full names, first names, initials and
    nicknames), to that role."""
    # A word the texts also write in lower case is a common word, not a name ("Development
    # Panel", "Release Trains"); an address is not writing ("gareth.lloyd@...").
    common = {w for t in texts for w in re.findall(r"\b[a-z][a-z'-]*\b", _ADDRESS.sub(" ", t))}
    named: dict[str, set[str]] = {}
    for text in texts:
        for m in book.mentions(text):
            for name in _names_at(text, m.start, m.end):
                words = name.split()
                if text[m.start : m.end] == _person_initials(name):
                    # "SM: Sophie Marchal, head winemaker": the label is her initials, though
                    # they spell a role's too ("Shop Manager").
                    continue
                capitalised = words[0][0].isupper()
                if (capitalised and words[0].lower() in common) or book.mentions(name):
                    continue
                named.setdefault(name, set()).add(m.role)
                if len(words) > 1 and words[0] not in TITLES:  # "Priya Nair" is also "Priya"
                    named.setdefault(words[0], set()).add(m.role)
    for name, roles in list(named.items()):
        if " " not in name and len(full := _full_names(name, texts)) == 1:
            # "Tamsin, our community manager" is the contact list's "Tamsin Achebe (TA)".
            named.setdefault(full.pop(), set()).update(roles)
    for name, roles in list(named.items()):
        # Initials that spell a word ("TO", "ME") would find the person in every heading or
        # notice in capitals that has the word ("KEY TO INITIALS"): not where there is one.
        initials = _paired_initials(name, texts)
        if initials and not (initials.lower() in STOPWORDS and _in_capitals(initials, texts)):
            named.setdefault(initials, set()).update(roles)
    return {
        name: roles.pop()
        for name, roles in sorted(named.items())
        if len(roles) == 1 and book.written(name) is None
    }


def _names_at(text: str, start: int, end: int) -> Iterator[str]:
    """The names the text gives the role it names between `start` and `end`."""
    reach = max(start - _REACH, 0)
    # "The Assistant Stage Manager (ASM)": the brackets name the longer title, not the role.
    longer = _CAPITALISED_BEFORE.search(text, reach, start)
    if (bracketed := _IN_BRACKETS.match(text, end)) and (longer is None or longer[1] in _ARTICLES):
        yield next(g for g in bracketed.groups() if g)
    named = _NAME_IS.search(text, reach, start)
    if named and named["beside"] and not _APPOSITION_END.match(text, end):
        named = None
    before = named or (_LABEL_END.match(text, end) and _NAME_LABELLED.search(text, reach, start))
    if before:
        name = before[1] or before[2]
        word = _CAPITALISED_BEFORE.search(text, max(before.start() - _REACH, 0), before.start())
        if word is None or word[1] in TITLES:
            yield name
    labels = []
    if (listed := _LISTED.match(text, end)) and _LABEL_START.search(text, reach, start):
        labels.append(re.sub(r"\([^)]*\)", "", listed[1]))
    if (who := _WHO_IS.search(text, reach, start)) and _WHO_IS_END.match(text, end):
        labels.append(who[1])
    for label in labels:
        for name in re.findall(_PERSON, label):
            if name.removesuffix("s") not in DAYS_AND_MONTHS:
                yield name
    # "Master, Chief Officer, Chief Engineer, Purser" lists roles: none is another's name.
    if (apposed := _NAME_APPOSED.match(text, end)) and not _LIST_ITEM.search(text, reach, start):
        yield apposed[1]


def _full_names(first: str, texts: Sequence[str]) -> set[str]:
    """The full names the texts give with `first` as the first name."""
    return {m for t in texts for m in re.findall(rf"\b{re.escape(first)} {SURNAME}\b", t)}


def _in_capitals(word: str, texts: Sequence[str]) -> bool:
    """Whether `word` stands in a line of several words written in capitals."""
    found = re.compile(rf"\b{word}\b")
    return any(
        line.isupper() and len(line.split()) > 1 and found.search(line)
        for text in texts
        for line in text.splitlines()
    )


def _person_initials(name: str) -> str:
    """ "Rhian Pugh" -> "RP", "Dr Owen Lusk" -> "OL"; a single name has one letter."""
    return "".join(w[0] for w in name.split() if w not in TITLES)


def _paired_initials(name: str, texts: Sequence[str]) -> str | None:
    """The initials of a full name, if the texts pair the two: "RP is Rhian Pugh", "HN Hana
    Novak", "HO: Helen Okafor", "KH - Karen Hollis", "OL is Dr Owen Lusk", "Tom Heston (TH,
    ...)"."""
    initials = _person_initials(name)
    if len(initials) < 2:
        return None
    titles = "|".join(TITLES)
    # Markup may wrap the initials: "- **TA**: Tom Ashdown, Vineyard Mgr".
    paired = re.compile(
        rf"\b{initials}[*_]*(?:\s*[:=]\s*|\s+[-\u2013\u2014]\s+|\s+is\s+|\s+)(?:(?:{titles})\.?\s+)?"
        rf"{re.escape(name)}\b"
        rf"|\b{re.escape(name)}\s*\(\s*{initials}\b"
    )
    return initials if any(paired.search(t) for t in texts) else None
