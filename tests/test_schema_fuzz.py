"""schemathesis against the app's own OpenAPI schema, in-process: no 5xx, nothing off-schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as run_with
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.api import create_app
from service.engine import Engine
from service.settings import Settings

Operation = schemathesis.APIOperation[Any, Any, Any, Any]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Cases per operation and mode; operations without parameters stop after their few cases.
EXAMPLES = {GenerationMode.POSITIVE: 250, GenerationMode.NEGATIVE: 200}
AT_LEAST = 1000


def fuzz(operation: Operation, mode: GenerationMode, examples: int) -> int:
    """Run up to `examples` generated cases against `operation`; how many ran."""
    ran = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @run_with(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case[Operation]) -> None:
        nonlocal ran
        ran += 1
        case.call_and_validate(checks=CHECKS)

    check()
    return ran


def takes_input(operation: Operation) -> bool:
    """Whether there is anything to get wrong (negative cases need something to break)."""
    return bool(operation.body) or any(True for _ in operation.iter_parameters())


def operations(schema: Any) -> Iterator[Operation]:
    """Every operation of the schema; one it cannot read fails the test, with its reason."""
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        yield result.ok()


def test_generated_requests_get_no_server_error_and_answers_match_the_schema(
    settings: Settings, engine: Engine
) -> None:
    app = create_app(settings.model_copy(update={"rate_limit": ""}), engine)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    ran = {
        f"{operation.label} ({mode.value})": fuzz(operation, mode, examples)
        for operation in operations(schema)
        for mode, examples in EXAMPLES.items()
        if mode is GenerationMode.POSITIVE or takes_input(operation)
    }
    assert sum(ran.values()) >= AT_LEAST, ran
