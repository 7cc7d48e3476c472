"""`roleqa ask`: one question on the command line, held to the same rule as over HTTP."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from service import cli
from service.engine import Engine


@pytest.fixture()
def runner(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI, on the session's engine rather than a second copy of the model."""
    monkeypatch.setattr(cli, "_engine", lambda index: engine)
    return CliRunner()


def test_a_question_is_answered_with_its_role(runner: CliRunner) -> None:
    result = runner.invoke(cli.app, ["ask", "Who prioritizes the team backlog?"])
    assert result.exit_code == 0, result.output
    assert "answer role: Product Owner" in result.stdout


@pytest.mark.parametrize(
    ("question", "says"),
    [("", "empty"), ("   ", "empty"), ("x" * 1001, "limit is 1000"), ("who\x00", "control")],
)
def test_a_question_the_api_would_refuse_is_refused_in_one_sentence(
    runner: CliRunner, question: str, says: str
) -> None:
    result = runner.invoke(cli.app, ["ask", question])
    assert result.exit_code == 2
    assert says in result.stderr
    assert "Traceback" not in result.output
