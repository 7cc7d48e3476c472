"""The people the documents name in a role, so that what they do counts for the role they hold.

Handbooks, minutes and contact lists name someone in a role once ("Gary Lund is the general
foreman", "Warehouse Lead (DM)") and then write only "Gary" or "DM reported ...". roles.toml
cannot know these names; the documents say them in a few set ways:

- "Gary Lund is the general foreman", "Priya Nair, our research technician, ...";
- "The lab manager, Helen Marsh, ...", "Head Coach: Gary Pennock, 07700 ...";
- "Priya Raman (1st AD)", "Warehouse Lead (DM)", "your WC (the guvnor)".

A person is then known by the full name and by the first name alone; a name the documents give
to two roles, or that roles.toml already gives, is left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from service.roles import RoleBook

# Two capitalised words: a first name and a surname ("Priya Nair", "Siobhan O'Kelly").
_NAME = r"[A-Z][a-z]+ [A-Z][\w'’-]*[a-z]"
# What may stand in brackets after a role: a name, initials, or a nickname after "the".
_IN_BRACKETS = re.compile(rf"\s*\(\s*(?:the\s+([a-z][a-z'-]+)|({_NAME})|([A-Z]{{2,4}}))\s*\)")
# A name saying who holds the role after it: "Gary Lund is the", "Sam Okafor is head",
# "Priya Nair, our".
_NAME_IS = re.compile(
    rf"({_NAME})(?:\s+(?:is|was)\s+(?:(?:the|our|your|their|a|an)\s+)?|"
    r"\s*,\s+(?:the|our|your|their|a|an)\s+)(?:[a-z]+\s+)?$"
)
# A name labelled with the role after it: "Priya Raman (1st AD)", "Helen Marsh, Lab Manager:",
# "Daniel Mensah, night auditor, at 06:40".
_NAME_LABELLED = re.compile(rf"({_NAME})\s*(?:\(|,)\s*$")
_LABEL_END = re.compile(r"\s*[),:]")
# A role labelled with the name after it: "Head Coach: Gary Pennock,", "General Foreman, Gary
# Lund: 07700 ...", "the lab manager, Helen Marsh, keeps ...".
_NAME_AFTER = re.compile(rf":\s+({_NAME})(?=\s*[,;.)]|\s*$)|,\s+({_NAME})(?=\s*[,:])", re.M)
# A capitalised word right before a would-be name makes it part of a longer one ("the Collections
# Development Panel"), unless it is a title ("Dr Priya Nandra").
_CAPITALISED_BEFORE = re.compile(r"([A-Z][\w'’-]*) $")
_TITLES = frozenset(
    {"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Prof", "Professor", "Sir", "Dame", "Sister"}
)
_REACH = 80  # how far back a name, or the word before it, is looked for


def people_in(texts: Sequence[str], book: RoleBook) -> dict[str, str]:
    """Each name the texts give someone in a role (full names, first names, initials and
    nicknames), to that role."""
    # A word the texts also write in lower case is a common word, not a name ("Development
    # Panel", "Release Trains").
    common = {w for t in texts for w in re.findall(r"\b[a-z][a-z'-]*\b", t)}
    named: dict[str, set[str]] = {}
    for text in texts:
        for m in book.mentions(text):
            for name in _names_at(text, m.start, m.end):
                words = name.split()
                capitalised = words[0][0].isupper()
                if (capitalised and words[0].lower() in common) or book.mentions(name):
                    continue
                named.setdefault(name, set()).add(m.role)
                if len(words) > 1 and words[0] not in _TITLES:  # "Priya Nair" is also "Priya"
                    named.setdefault(words[0], set()).add(m.role)
    return {
        name: roles.pop()
        for name, roles in sorted(named.items())
        if len(roles) == 1 and book.canonical(name) is None
    }


def _names_at(text: str, start: int, end: int) -> Iterator[str]:
    """The names the text gives the role it names between `start` and `end`."""
    if bracketed := _IN_BRACKETS.match(text, end):
        yield next(g for g in bracketed.groups() if g)
    reach = max(start - _REACH, 0)
    before = _NAME_IS.search(text, reach, start) or (
        _LABEL_END.match(text, end) and _NAME_LABELLED.search(text, reach, start)
    )
    if before:
        word = _CAPITALISED_BEFORE.search(text, max(before.start() - _REACH, 0), before.start())
        if word is None or word[1] in _TITLES:
            yield before[1]
    if after := _NAME_AFTER.match(text, end):
        yield after[1] or after[2]
