"""The one rule for a question, wherever it comes from: an HTTP body, a query string, a FAQ file.

It lives below the HTTP models so that batch answering (which must not import pydantic models)
applies exactly the rule the API does.
"""

from __future__ import annotations

MAX_QUESTION_CHARS = 1000


def check_question(value: object, limit: int = MAX_QUESTION_CHARS) -> str:
    """The question stripped of surrounding white space, or a ValueError that says what is wrong."""
    if value is None:
        raise ValueError("question is missing")
    if not isinstance(value, str):
        raise ValueError(f"question must be text, not {type(value).__name__}")
    if not value.strip():
        raise ValueError("question is empty: type a question")
    if len(value) > limit:
        raise ValueError(f"question is {len(value)} characters long; the limit is {limit}")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        raise ValueError("question contains control characters")
    return value.strip()
