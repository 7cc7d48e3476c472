"""Which questions ask for a sum of money, and which texts name one."""

from __future__ import annotations

import pytest

from service.amounts import asks_amount, states_amount


@pytest.mark.parametrize(
    "question",
    [
        "what's the hourly rate for a kitchen porter",
        "how much is the standby call-out payment",
        "How much does a room cost per week?",
        "salary bands for senior engineers",
        "night shift pay rate for care assistants",
        "mileage rate for driving to away concerts",
        "admission price for the special exhibition",
        "What is a healthcare assistant's rate of pay?",
    ],
)
def test_questions_for_a_sum(question: str) -> None:
    assert asks_amount(question)


@pytest.mark.parametrize(
    "question",
    [
        "how much notice does a player give",  # a span of time
        "what happens when a customer is overcharged",
        "do I still get paid if the match is called off",  # yes or no
        "rate the incident's severity",
        "when does the sauna open",
    ],
)
def test_questions_for_something_else(question: str) -> None:
    assert not asks_amount(question)


@pytest.mark.parametrize(
    "text",
    [
        "Porters are paid £12.10 an hour.",
        "Mileage is 45p a mile.",
        "The fee is 20 euros.",
        "Staff get 20% off in the shop.",
        "Sunday shifts are paid at time and a half.",
        "Replacement fobs are issued free of charge.",
        "Volunteers are unpaid.",
        "Invoices over USD 5,000 need two signatures.",
    ],
)
def test_texts_naming_a_sum(text: str) -> None:
    assert states_amount(text)


@pytest.mark.parametrize(
    "text",
    [
        "The porter keeps the dish wash area clear and empties the bins.",
        "Feel free to ask the head chef.",
        "Keep the fire exits free of stock.",
        "Shifts start at 07:00 and run for 8 hours.",
    ],
)
def test_texts_naming_none(text: str) -> None:
    assert not states_amount(text)
