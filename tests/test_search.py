"""Role-aware hybrid search, through the real model and index."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from service.encoder import Encoder
from service.engine import Engine
from service.index import build
from service.roles import SHARED
from service.search import Hit, SearchConfig, Searcher, Weights


def searcher_over(tmp_path: Path, encoder: Encoder, roles: Sequence[str], guide: str) -> Searcher:
    """A searcher over one Markdown guide with these roles, built for the test."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "roles.toml").write_text("".join(f'[[role]]\nname = "{r}"\n' for r in roles))
    (corpus / "guide.md").write_text(guide)
    build(corpus, tmp_path / "index", encoder)
    return Engine.open(tmp_path / "index", encoder=encoder).searcher


def test_a_question_about_one_role_prefers_its_passages(engine: Engine) -> None:
    s = engine.searcher
    for role, question in [
        ("Product Owner", "how does the product owner work with stakeholders"),
        ("SAFe Product Manager", "how does the SAFe PM work with stakeholders"),
    ]:
        answer = s.search(question, 2)
        assert answer.answer_role == role
        assert all(h.passage.role == role for h in answer.hits)


def test_the_role_name_does_not_drown_the_question(engine: Engine) -> None:
    answer = engine.searcher.search("Product Owner negotiation skills", 1)
    assert "negotiation" in answer.hits[0].passage.text


def test_a_comparison_leads_with_each_role(engine: Engine) -> None:
    answer = engine.searcher.search("SAFe PM vs PO: decision making", 4)
    assert answer.answer_role == SHARED
    lead = {h.passage.role for h in answer.hits[:2]}
    assert {"SAFe Product Manager", "Product Owner"} <= lead | {
        h.passage.role for h in answer.hits[:3]
    }


def test_a_question_typed_without_apostrophes_means_the_same(engine: Engine) -> None:
    """ "whats", "dont": the words a question is made of, not what it is about."""
    s = engine.searcher
    typed, spelled = (
        s.search(f"PO vs SAFe PM {how} the difference", 3) for how in ("whats", "what is")
    )
    assert [h.passage.id for h in typed.hits] == [h.passage.id for h in spelled.hits]
    assert not typed.no_answer


def test_the_answer_role_is_never_that_of_a_passage_about_no_role(engine: Engine) -> None:
    """An introduction about no role answers no "who": the best passage about one does."""
    s = engine.searcher
    found = s.search("Who oversees several agile release trains?", 3)
    aboutless = replace(
        found.hits[0],
        passage=replace(found.hits[0].passage, role=None),
        answer="It is a big job.",  # naming no role that does it
    )
    hits = (aboutless, *found.hits[1:])
    query = s.parse(found.question)
    assert s._answer_role(query, hits) == found.hits[1].passage.role
    assert s._answer_role(query, (aboutless,)) is None


def test_a_role_named_in_a_who_question_is_not_its_answer(engine: Engine) -> None:
    """ "Who assigns stories to the product owners?" asks which role does it to them."""
    s = engine.searcher
    found = s.search("who guides the product owners across teams", 3)
    query = s.parse(found.question)
    assert query.who and query.roles == ("Product Owner",)
    elsewhere = replace(found.hits[0].passage, role="SAFe Product Manager")
    top = replace(found.hits[0], passage=elsewhere)
    assert s._answer_role(query, (top, *found.hits[1:])) == "SAFe Product Manager"
    statement = s.parse("how the product owner guides the teams")
    assert s._answer_role(statement, (top,)) == "Product Owner"


def test_a_who_question_is_answered_by_whoever_the_answer_sentence_says_does_it(
    engine: Engine,
) -> None:
    """Whatever the passage is about: "done by the X" in a shared passage answers X, and a
    passage saying its own role does not do it answers no one."""
    s = engine.searcher
    found = s.search("who refines the backlog?", 3)
    query = s.parse(found.question)
    first, second = found.hits[0], found.hits[1]
    shared = replace(first, passage=replace(first.passage, role=SHARED))
    by_pm = replace(shared, answer="The backlog is refined by the SAFe PM every week.")
    assert s._answer_role(query, (by_pm, second)) == "SAFe Product Manager"
    owner = replace(first, passage=replace(first.passage, role="Product Owner"))
    denied = replace(owner, answer="Unlike the SAFe PM, the PO does not refine it alone.")
    elsewhere = replace(
        second,
        passage=replace(second.passage, role="SAFe Product Manager"),
        answer="It is done weekly.",
    )
    assert s._answer_role(query, (denied, elsewhere)) == "SAFe Product Manager"
    neutral = replace(owner, answer="It is refined every week.")
    assert s._answer_role(query, (neutral, elsewhere)) == "Product Owner"


def test_a_who_question_takes_the_doer_of_the_clause_that_says_what_it_asks(
    engine: Engine,
) -> None:
    s = engine.searcher
    found = s.search("who sets the vision?", 1)
    shared = replace(found.hits[0], passage=replace(found.hits[0].passage, role=SHARED))
    both = "The PO writes the stories, but the SAFe PM sets the vision for the portfolio."
    hit = replace(shared, answer=both)
    assert s._answer_role(s.parse("who sets the vision?"), (hit,)) == "SAFe Product Manager"
    assert s._answer_role(s.parse("who writes the stories"), (hit,)) == "Product Owner"
    # A denial in another clause than the one asked about denies nothing asked.
    owner = replace(found.hits[0], passage=replace(found.hits[0].passage, role="Product Owner"))
    elsewhere = replace(owner, answer="The PO does not set the vision; the stories are the PO's.")
    manager = replace(hit, passage=replace(hit.passage, role="SAFe Product Manager"), answer="")
    assert s._answer_role(s.parse("who writes the stories"), (elsewhere, manager)) == (
        "Product Owner"
    )


def test_the_answer_role_is_the_one_a_shared_passage_is_most_about(engine: Engine) -> None:
    """Short of a comparison, a question asks for one role, unless the passage speaks of the
    roles together."""
    s = engine.searcher
    hit = s.search("who reviews the plan?", 1).hits[0]

    def shared(text: str, manager: float) -> tuple[Hit, ...]:
        scores = (("SAFe Product Manager", manager), ("Product Owner", 1.0 - manager))
        passage = replace(hit.passage, text=text, role=SHARED, role_scores=scores)
        return (replace(hit, passage=passage, answer="The plan is reviewed every week."),)

    for question in ["who reviews the plan?", "plan review"]:
        asked = s.parse(question)
        leaning = shared("The plan is reviewed every week.", 0.6)
        assert s._answer_role(asked, leaning) == "SAFe Product Manager", question
        assert s._answer_role(asked, shared("The plan is reviewed weekly.", 0.5)) == SHARED
        assert s._answer_role(asked, shared("Both roles review the plan weekly.", 0.6)) == SHARED
    comparison = s.parse("product owner vs SAFe PM: who reviews the plan?")
    assert s._answer_role(comparison, shared("The plan is reviewed weekly.", 0.6)) == SHARED


def test_who_questions_take_the_role_of_the_best_passage(engine: Engine) -> None:
    answer = engine.searcher.search("Who oversees several agile release trains?", 3)
    assert answer.answer_role == "SAFe Product Manager"
    assert answer.hits[0].passage.role == "SAFe Product Manager"


def test_out_of_scope_questions_get_no_answer_and_low_confidence(engine: Engine) -> None:
    for question in ["what is the capital of France", "when does the canteen open"]:
        answer = engine.searcher.search(question)
        assert answer.no_answer and answer.confidence < 0.5, question
    for question in ["backlog", "who is the voice of the customer?", "SAFe PM"]:
        answer = engine.searcher.search(question)
        assert not answer.no_answer and answer.confidence > 0.5, question


KITCHEN = (
    "# Kitchen guide\n\n## Kitchen porter\n\n"
    "The kitchen porter keeps the wash-up clear, runs the dishwasher and empties the bins after "
    "each service, and logs the rinse temperature every hour. Porters work a rota of early and "
    "late shifts set by the head chef, and are paid for the hours on their timesheet.{pay}\n\n"
    "## Head chef\n\nThe head chef writes the menu, orders from suppliers and sets the rota.\n"
)


def test_a_who_question_asks_for_a_role_not_a_sum(engine: Engine) -> None:
    assert engine.searcher.parse("what does the training cost").amount
    assert not engine.searcher.parse("who prices the training").amount


def test_a_question_for_a_sum_the_documents_never_name_has_no_answer(
    tmp_path: Path, encoder: Encoder
) -> None:
    """A passage about kitchen porters is near in meaning, but without a sum it is no answer."""
    question = "what is the hourly rate for a kitchen porter"
    silent = searcher_over(tmp_path / "silent", encoder, ["Kitchen Porter"], KITCHEN.format(pay=""))
    answer = silent.search(question, 1)
    assert answer.no_answer and answer.confidence < 0.5
    assert not silent.search("what does the kitchen porter do after service", 1).no_answer

    paid = " Porters are paid £12.10 an hour."
    stated = searcher_over(
        tmp_path / "stated", encoder, ["Kitchen Porter"], KITCHEN.format(pay=paid)
    )
    answer = stated.search(question, 1)
    assert not answer.no_answer
    assert answer.hits[0].answer == paid.strip()


def test_the_answer_is_a_sentence_of_the_passage_that_fits(engine: Engine) -> None:
    hit = engine.searcher.search("Which role has its roots in Scrum?", 1).hits[0]
    assert hit.answer in hit.passage.sentence_texts()
    assert "Scrum" in hit.answer


def test_a_question_in_the_text_is_never_the_answer(tmp_path: Path, encoder: Encoder) -> None:
    """An FAQ's "Q: ...?" line matches the question best, and answers nothing."""
    searcher = searcher_over(
        tmp_path,
        encoder,
        ["Clerk", "Manager"],
        "# Office FAQ\n\n## Forms\n\nQ: Who files the expense forms?\n"
        "A: The clerk does, every Friday afternoon.\n\n"
        "Q: Who signs the expense forms?\nA: The manager signs them on Monday.\n",
    )
    answer = searcher.search("Who files the expense forms?", 1)
    assert answer.hits[0].answer == "A: The clerk does, every Friday afternoon."
    assert answer.answer_role == "Clerk"


def test_a_sentence_naming_the_role_asked_about_matches_better(
    tmp_path: Path, encoder: Encoder
) -> None:
    """Two sentences saying the same of two roles: each question's is the one naming its role."""
    searcher = searcher_over(
        tmp_path,
        encoder,
        ["Clerk", "Porter"],
        "# Depot guide\n\n## Opening\n\nThe depot opens at six and closes at ten.\n\n"
        "## Early tasks\n\nAt six the porter prints the dock diary for the day.\n\n"
        "## First jobs\n\nAt six the clerk prints the dock diary for the day.\n",
    )
    for role in ("clerk", "porter"):
        hits = searcher.search(f"when does the {role} print the dock diary", 3).hits
        sentence = {h.passage.role: h.parts["sentence"] for h in hits}
        assert sentence[role.title()] == max(sentence.values()), (role, sentence)


def test_a_who_question_is_answered_on_what_it_asks_done_not_when(
    tmp_path: Path, encoder: Encoder
) -> None:
    """ "If a patient collapses" says when; "who phones 999" is what is asked."""
    searcher = searcher_over(
        tmp_path,
        encoder,
        ["Dentist", "Dental Nurse", "Receptionist"],
        "# Emergencies\n\nIf a patient collapses in the surgery, the dentist leads the response "
        "and the dental nurse brings the oxygen and the emergency kit. The receptionist calls "
        "999, gives the practice address and waits at the front door for the ambulance.\n",
    )
    answer = searcher.search("who phones 999 if a patient collapses", 1)
    assert answer.hits[0].answer.startswith("The receptionist calls 999")
    assert answer.answer_role == "Receptionist"


def test_of_several_doers_the_one_doing_what_is_asked_answers(
    tmp_path: Path, encoder: Encoder
) -> None:
    searcher = searcher_over(
        tmp_path,
        encoder,
        ["Reporter", "Lawyer", "Editor"],
        "# Stories\n\nEvery story is written by the reporter, checked by the lawyer and "
        "published by the editor before noon. The editor also keeps the corrections log.\n",
    )
    for question, role in [
        ("who writes a story", "Reporter"),
        ("who checks the stories before they go out", "Lawyer"),
        ("who publishes the story", "Editor"),
    ]:
        answer = searcher.search(question, 1)
        assert answer.hits[0].answer.startswith("Every story is written"), question
        assert answer.answer_role == role, question


def test_who_do_i_tell_is_answered_by_whom_the_text_sends_you_to(
    tmp_path: Path, encoder: Encoder
) -> None:
    searcher = searcher_over(
        tmp_path,
        encoder,
        ["Crew Member", "Shift Lead", "Rota Planner"],
        "# Sickness\n\nA crew member who is unwell must phone their shift lead before the "
        "shift starts. The rota planner finds cover from the bank list.\n\n"
        "# Lost property\n\nAnything passengers leave on board goes in the lost property bag, "
        "which the crew member hands to the shift lead at the end of the day.\n",
    )
    for question, role in [
        ("who do I phone if I'm off sick", "Shift Lead"),
        ("who do i hand lost property to", "Shift Lead"),
        ("who phones the shift lead if they are unwell", "Crew Member"),
    ]:
        assert searcher.search(question, 1).answer_role == role, question


def test_bm25_counts_for_little_when_the_corpus_lacks_most_of_the_question(
    tmp_path: Path, encoder: Encoder
) -> None:
    """Only "day" of the paraphrase is in the corpus: its BM25 must not outweigh the meaning."""
    searcher = searcher_over(
        tmp_path,
        encoder,
        ["Porter"],
        "# Depot guide\n\n## Loading\n\nThe porter carries the heavy boxes out to the van.\n\n"
        "## Front desk\n\nEach day visitors sign in at the desk and get day passes.\n\n"
        "## Opening hours\n\nThe depot opens at six and closes at ten.\n",
    )

    def loudest(question: str, part: str) -> float:
        return max(abs(h.parts[part]) for h in searcher.search(question, 3).hits)

    paraphrase = "who lugs bulky cartons to the lorry each day"
    assert loudest(paraphrase, "lexical") < 0.5 * loudest(paraphrase, "dense")
    known = "who carries the heavy boxes out to the van"
    assert loudest(known, "lexical") > 0.5 * loudest(known, "dense")


def test_role_names_in_one_noun_phrase_ask_about_its_head(tmp_path: Path, encoder: Encoder) -> None:
    """ "a vet nurse" is a nurse; "vet nurse vaccines", keywords, names both."""
    searcher = searcher_over(
        tmp_path,
        encoder,
        ["Vet", "Nurse"],
        "# Guide\n\n## Jabs\n\nThe nurse gives the second vaccine.\n\n"
        "## Surgery\n\nThe vet operates in the morning.\n",
    )
    assert searcher.parse("can a vet nurse give the second vaccine").roles == ("Nurse",)
    assert searcher.parse("vet nurse vaccines").roles == ("Vet", "Nurse")


def test_typos_and_other_words_still_find_the_passage(engine: Engine) -> None:
    hit = engine.searcher.search("backlog reorderring", 1).hits[0]
    assert "reorder the backlog" in hit.passage.text


def test_a_misspelt_keyword_still_has_an_answer(engine: Engine) -> None:
    """A typo is no word the corpus lacks: the question is about what it was meant as; a word
    the model's tokenizer spells is no typo, and the index reads those from its export."""
    assert {"weather", "parking"} <= engine.searcher.index.vocabulary.dictionary
    for asked, meant in [("backlgo", "backlog"), ("roadmpa", "roadmap"), ("visoin", "vision")]:
        answer, right = engine.searcher.search(asked, 3), engine.searcher.search(meant, 3)
        assert not answer.no_answer, asked
        assert [h.passage.id for h in answer.hits] == [h.passage.id for h in right.hits], asked
        assert answer.question == asked  # the question is echoed as it was asked


def test_a_misspelt_role_name_still_names_the_role(engine: Engine) -> None:
    """ "manger" is an English word, but not after "product": the question is about the role."""
    for asked, meant in [
        ("what does the product manger prioritise", "what does the product manager prioritise"),
        ("who does the prodcut owner work with", "who does the product owner work with"),
    ]:
        query = engine.searcher.parse(asked)
        assert query.roles and query.roles == engine.searcher.parse(meant).roles, asked
        answers = engine.searcher.search(asked), engine.searcher.search(meant)
        assert answers[0].answer_role == answers[1].answer_role, asked


def test_many_questions_at_once_equal_one_by_one(engine: Engine) -> None:
    questions = ["backlog", "who manages budgets?", "backlog", "what is the capital of France"]
    together = engine.searcher.search_many(questions, 3)
    for q, a in zip(questions, together, strict=True):
        alone = engine.searcher.search(q, 3)
        assert [h.passage.id for h in a.hits] == [h.passage.id for h in alone.hits]
        assert (a.answer_role, a.no_answer, a.confidence) == (
            alone.answer_role,
            alone.no_answer,
            alone.confidence,
        )


def test_role_filter_keeps_only_that_role_and_shared(engine: Engine) -> None:
    answer = engine.searcher.search("stakeholders", 10, role="Product Owner")
    assert answer.hits and {h.passage.role for h in answer.hits} <= {"Product Owner", SHARED}


def test_explain_parts_add_up_to_the_ranking(engine: Engine) -> None:
    hits = engine.searcher.search("portfolio roadmap", 5).hits
    totals = [sum(h.parts.values()) for h in hits]
    assert totals == sorted(totals, reverse=True)


def test_turning_a_part_off_removes_it(engine: Engine) -> None:
    config = SearchConfig(weights=replace(Weights(), dense=0, role=0))
    hit = engine.searcher.with_config(config).search("portfolio roadmap", 1).hits[0]
    assert set(hit.parts) == {"lexical", "sentence", "heading"}


def test_who_and_who_asks_for_each_roles_part(engine: Engine) -> None:
    s = engine.searcher
    assert s.parse("who owns the roadmap and who owns the backlog").comparison
    assert s.search("who owns the roadmap and who owns the backlog", 3).answer_role == SHARED
    assert not s.parse("who helps a team that is stuck, and how?").comparison
    assert not s.parse("who decides whether a team who is late may ship").comparison


def test_a_second_role_that_the_first_works_with_is_no_comparison(engine: Engine) -> None:
    s = engine.searcher
    owner, manager = "Product Owner", "SAFe Product Manager"
    asks = s.parse("Does the product owner take the vision from the SAFe product manager?")
    assert (asks.roles, asks.comparison) == ((owner,), False)
    assert "manager" in asks.content  # what the owner works with is part of what is asked
    answer = s.search(asks.text)
    assert answer.answer_role == owner
    # Side by side, they are compared: "and", "or", "vs", "v", a comma, "like", or nothing at
    # all between them in a list of keywords.
    for question in [
        "product owner or SAFe product manager: who owns the vision?",
        "product owner v SAFe product manager on the vision",
        "does the PO own the vision like the SAFe PM does?",
        "PO, SAFe PM: vision",
        "vision PO SAFe PM",
    ]:
        assert s.parse(question).roles == (owner, manager), question
        assert s.parse(question).comparison, question
