"""Questions that ask for a sum of money, and passages that state one.

"What is the hourly rate for a kitchen porter?" is answered only by a passage that names a sum:
one about kitchen porters that names none is near in meaning and still no answer. Documents about
roles are often silent on pay and prices, and such questions are a common kind of out-of-scope
question, so the search weighs its evidence down when it finds no sum where it looks.
"""

from __future__ import annotations

import re

# Asks how much something costs or pays: "how much is/does ...", a salary or wage, a rate of
# pay or charge, a price, a cost.
_ASKS = re.compile(
    r"\bhow much (?:is|are|does|do|did|will|would|should|can)\b"
    r"|\b(?:salary|salaries|wages?|prices?|costs?)\b"
    r"|\b(?:hourly|daily|day|weekly|pay|overtime|mileage|interest|tax)\s+rates?\b"
    r"|\brates? of pay\b",
    re.I,
)

# A sum, or what stands for one ("time and a half", "free of charge", "unpaid").
_STATES = re.compile(
    r"[£$€¥]\s?\d|\b(?:GBP|USD|EUR)\s?\d"
    r"|\d\s?(?:p|pence|pounds?|dollars?|euros?|GBP|USD|EUR)\b"
    r"|\d\s?%|\bper ?cent\b"
    r"|\btime and a half\b|\bdouble time\b"
    r"|\bfree of charge\b|\b(?:for|is|are|it's) free\b|\bno charge\b|\bat no cost\b|\bunpaid\b",
    re.I,
)


def asks_amount(question: str) -> bool:
    """Whether `question` asks for a sum of money ("who prices ...?" asks for a role: the
    caller knows a "who" question when it sees one)."""
    return bool(_ASKS.search(question))


def states_amount(text: str) -> bool:
    """Whether `text` names a sum of money."""
    return bool(_STATES.search(text))
