"""The people documents name in a role become names of that role for their corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.encoder import Encoder
from service.engine import Engine
from service.index import build
from service.people import people_in
from service.roles import Role, RoleBook
from service.settings import Settings

SITE = RoleBook(
    (
        Role("Site Manager", ("SM",)),
        Role("Foreman", ("general foreman",)),
        Role("Health and Safety Advisor", ("HSA",)),
        Role("Warehouse Lead"),
    )
)


# Gary Lund, foreman, and Helen Marsh, HSA, known by initials, full and first name.
GARY_AND_HELEN = {
    "GL": "Foreman",
    "Gary Lund": "Foreman",
    "Gary": "Foreman",
    "HM": "Health and Safety Advisor",
    "Helen Marsh": "Health and Safety Advisor",
    "Helen": "Health and Safety Advisor",
}


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Gary Lund is the general foreman.", {"Gary Lund": "Foreman", "Gary": "Foreman"}),
        ("Dan Okafor is site manager here.", {"Dan Okafor": "Site Manager", "Dan": "Site Manager"}),
        (
            "Gary Lund has been our general foreman since 2016.",
            {"Gary Lund": "Foreman", "Gary": "Foreman"},
        ),
        (
            "Helen Marsh, our health and safety advisor, visits on Mondays.",
            {"Helen Marsh": "Health and Safety Advisor", "Helen": "Health and Safety Advisor"},
        ),
        ("The foreman, Gary Lund, opens the site.", {"Gary Lund": "Foreman", "Gary": "Foreman"}),
        ("- General Foreman, Gary Lund: 07700 900517", {"Gary Lund": "Foreman", "Gary": "Foreman"}),
        ("- Gary Lund, Foreman: 07700 900517", {"Gary Lund": "Foreman", "Gary": "Foreman"}),
        (
            "Site Manager: Dan Okafor, ext. 21",
            {"Dan Okafor": "Site Manager", "Dan": "Site Manager"},
        ),
        (
            "Present: Dev Mistry (Warehouse Lead).",
            {"Dev Mistry": "Warehouse Lead", "Dev": "Warehouse Lead"},
        ),
        ("ACTION: Warehouse Lead (DM) to get quotes.", {"DM": "Warehouse Lead"}),
        ("Ask your foreman (the gaffer).", {"gaffer": "Foreman"}),
        # a title is no first name
        ("Dr Ann Hale is the site manager.", {"Ann Hale": "Site Manager", "Ann": "Site Manager"}),
        ("Ms Achebe is the site manager.", {"Ms Achebe": "Site Manager"}),
        # a who's who, a page owner, a list of actions
        (
            "- **Site managers**: Dan (north gate), Sue, and Ali, who's new.",
            {"Dan": "Site Manager", "Sue": "Site Manager", "Ali": "Site Manager"},
        ),
        (
            "- Foreman: Dr Mehta and Dr Hale (nights).",
            {"Dr Mehta": "Foreman", "Dr Hale": "Foreman"},
        ),
        ("Site manager: Karen. Everyone calls her Kaz.", {"Karen": "Site Manager"}),
        (
            "Owner: Dan Okafor, Site Manager. Next review May.",
            {"Dan Okafor": "Site Manager", "Dan": "Site Manager"},
        ),
        ("- Sue and Dan (site managers): brief the gangs.", {"Dan": "Site Manager"}),
        (
            "- **Sue**: our regular site manager, Monday to Friday\n"
            "- **Gary and Tom**: health and safety advisors, on the north gate",
            {
                "Sue": "Site Manager",
                "Gary": "Health and Safety Advisor",
                "Tom": "Health and Safety Advisor",
            },
        ),
        # an email address is no lower-case use of a name
        (
            "Owner: Gary Lund, Foreman, gary.lund@example.org",
            {"Gary Lund": "Foreman", "Gary": "Foreman"},
        ),
        # initials the text pairs with the name, as a diary's or the minutes' key does
        (
            "Who's who: GL is Gary Lund (general foreman), HM Helen Marsh (our HSA).",
            GARY_AND_HELEN,
        ),
        # the minutes' key, a remark in brackets after the role; a signature in emphasis
        (
            "GL: Gary Lund, Foreman (chair)\nHM: Helen Marsh, Health and Safety Advisor",
            GARY_AND_HELEN,
        ),
        (
            "Read it once, then keep it handy. *Gary Lund, Foreman*",
            {"Gary Lund": "Foreman", "Gary": "Foreman"},
        ),
        # initials that spell a word would be found in every heading in capitals that has it,
        # but stand for the person where there is none
        ("KEY TO INITIALS\nTO: Tom Okoro, Foreman", {"Tom Okoro": "Foreman", "Tom": "Foreman"}),
        (
            "Key to initials\nME: Mary Evans, Foreman (chair)",
            {"ME": "Foreman", "Mary Evans": "Foreman", "Mary": "Foreman"},
        ),
        # a who's who in Markdown, with the role after a description
        (
            "- **GL**: Gary Lund, general foreman\n- **DO**: Dan Okafor, gate and deliveries (SM)",
            {
                "GL": "Foreman",
                "Gary Lund": "Foreman",
                "Gary": "Foreman",
                "DO": "Site Manager",
                "Dan Okafor": "Site Manager",
                "Dan": "Site Manager",
            },
        ),
        # a staff list with a dash after the initials
        (
            "- GL - Gary Lund, general foreman",
            {"GL": "Foreman", "Gary Lund": "Foreman", "Gary": "Foreman"},
        ),
        # a clergy or council title before the name, as before a doctor's
        (
            "GL: Revd Gary Lund, Foreman (chair)",
            {"GL": "Foreman", "Gary Lund": "Foreman", "Gary": "Foreman"},
        ),
        (
            "Cllr Helen Marsh, our HSA, opened it.",
            {"Helen Marsh": "Health and Safety Advisor", "Helen": "Health and Safety Advisor"},
        ),
        (
            "Present: Dev Mistry (DM, Senior Warehouse Lead), Dan Akers (DA, SM North).",
            {
                "DM": "Warehouse Lead",
                "Dev Mistry": "Warehouse Lead",
                "Dev": "Warehouse Lead",
                "DA": "Site Manager",
                "Dan Akers": "Site Manager",
                "Dan": "Site Manager",
            },
        ),
    ],
)
def test_a_person_named_in_a_role_is_known_by_name_and_first_name(
    text: str, found: dict[str, str]
) -> None:
    assert people_in([text], SITE) == found


@pytest.mark.parametrize(
    "text",
    [
        # capitalised words the text also writes in lower case are no name
        "Sprint Planning and Daily Stand-ups, Site Managers and foremen meet daily.",
        # a longer proper name, of a committee
        "Proposals go to the Collections Development Panel, the site manager's board.",
        # a place after a role, not labelled with a colon
        "Owner: Site Manager, Kingsmead Road. Next review due March 2026.",
        # a role's own name is not a person
        "The Site Manager, Health and Safety Advisor, reviews it.",
        # brackets holding a remark, not a name
        "The foreman (optional) signs it.",
        # a longer title ending in a role's name labels no one of that role
        "- Deputy foreman: Phil Carver, 07700 900301",
        # days are no names, and a first name alone needs a label
        "Site Manager: Tuesdays. Warehouse Lead: Mondays and Fridays.",
        "Housekeeping is the foreman's obsession. Finally, the foreman signs.",
        # a message in a chat, not a label
        "**Tom:** the foreman should sign it first.",
        # a longer title before a role's name: not one of the role
        "Approved by Ann Hale, Regional Site Manager.",
        "The Assistant Site Manager (ASM) books the hoist.",
        "Area site manager (Dan Okafor): 07700 900318",
        # a place before a clause, not a name before its role
        "Within 30 km of Hollins Moor, the site manager stops all lifting.",
        # a place before a role and a person's surname: a remark in brackets only follows a role
        "Stopped at Mill Hill, foreman Lewis (40877) took the keys.",
        # a list of roles names no one
        "Minimum crew: Site Manager, Foreman, Crane Operator, Banksman and two labourers.",
    ],
)
def test_what_is_not_a_person_named_in_a_role(text: str) -> None:
    assert people_in([text], SITE) == {}


def test_a_first_name_set_beside_our_role_is_the_one_full_name_it_begins() -> None:
    assert people_in(["Any questions, talk to Sue, our foreman."], SITE) == {"Sue": "Foreman"}
    contacts = "- Sue Tait (ST), gate: 07700 900100"
    assert people_in(["Any questions, talk to Sue, our foreman.", contacts], SITE) == {
        "Sue": "Foreman",
        "Sue Tait": "Foreman",
        "ST": "Foreman",
    }
    # two full names begin with it: neither is known to be hers
    two = "Sue Tait and Sue Marsh signed."
    assert people_in(["Talk to Sue, our foreman.", two], SITE) == {"Sue": "Foreman"}
    # "the" is not enough for a first name alone: "Reading, the site manager's town"
    assert people_in(["Talk to Sue, the foreman."], SITE) == {}


def test_initials_count_only_where_the_text_pairs_them_with_the_name() -> None:
    found = people_in(["Gary Lund is the general foreman. GL signed. Ask HM."], SITE)
    assert found == {"Gary Lund": "Foreman", "Gary": "Foreman"}


def test_a_name_given_to_two_roles_or_already_a_role_name_is_left_out() -> None:
    texts = [
        "Priya Nair is the site manager. Priya Shah is the foreman.",
        "The HSA (SM) signs.",  # "SM" already names the site manager
    ]
    assert people_in(texts, SITE) == {"Priya Nair": "Site Manager", "Priya Shah": "Foreman"}


def test_initials_paired_with_a_name_win_over_a_roles_that_roles_toml_never_writes() -> None:
    # "WL" would be the Warehouse Lead's initials; the key makes them Wendy Lowe's
    found = people_in(["- **WL**: Wendy Lowe, general foreman"], SITE)
    assert found == {"WL": "Foreman", "Wendy Lowe": "Foreman", "Wendy": "Foreman"}
    book = SITE.with_people(found)
    assert [m.role for m in book.mentions("WL signed; the Warehouse Lead checked.")] == [
        "Foreman",
        "Warehouse Lead",
    ]
    # initials roles.toml writes stay the role's: "SM" is the Site Manager's
    assert people_in(["SM: Sam Moss, general foreman"], SITE) == {
        "Sam Moss": "Foreman",
        "Sam": "Foreman",
    }


def test_a_book_knowing_people_finds_them_as_written() -> None:
    book = SITE.with_people({"Gary Lund": "Foreman", "Gary": "Foreman", "DM": "Warehouse Lead"})
    assert [m.role for m in book.mentions("Ask gary lund, or Gary.")] == ["Foreman", "Foreman"]
    assert [m.role for m in book.mentions("DM reported; dm is a typo.")] == ["Warehouse Lead"]
    # a first name or initials in lower case are a word, not the person
    assert book.mentions("gary said so") == []
    assert book.doers("Gary opens the site at 07:00.") == {"Foreman": True}
    assert book.canonical("Gary Lund") == "Foreman"


def test_the_build_finds_the_people_and_the_index_keeps_them(
    tmp_path: Path, encoder: Encoder, settings: Settings
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "roles.toml").write_text(
        '[[role]]\nname = "Foreman"\n\n[[role]]\nname = "Site Manager"\n', encoding="utf-8"
    )
    (corpus / "handbook.md").write_text(
        "# Site handbook\n\nGary Lund is the foreman. Dan Okafor is the site manager.\n\n"
        "## Mornings\n\nGary opens the gate at 07:00 and holds the activity briefing.\n\n"
        "## Permits\n\nDan signs every hot work permit before work starts.\n",
        encoding="utf-8",
    )
    build(corpus, tmp_path / "index", encoder)
    engine = Engine.open(tmp_path / "index", encoder=encoder)
    index = engine.searcher.index
    assert index.manifest["people"] == {
        "Dan": "Site Manager",
        "Dan Okafor": "Site Manager",
        "Gary": "Foreman",
        "Gary Lund": "Foreman",
    }

    def role_of(words: str) -> str | None:
        return next(p.role for p in index.passages if words in p.text)

    assert role_of("Gary opens") == "Foreman" and role_of("Dan signs") == "Site Manager"
    # a question naming the person asks about the role
    assert engine.search("when does Gary open the gate").answer_role == "Foreman"
    with TestClient(create_app(settings, engine)) as client:
        roles = {r["name"]: r["people"] for r in client.get("/roles").json()["roles"]}
    assert roles == {"Foreman": ["Gary", "Gary Lund"], "Site Manager": ["Dan", "Dan Okafor"]}
