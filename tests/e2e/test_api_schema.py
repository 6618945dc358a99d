"""Every operation in /openapi.json, fuzzed against the real process: no 5xx, and every
answer (status, content type, body) is one the document declares.

Bounded and derandomized, so a run is short and two runs send the same requests. The
document leaves out /metrics and /telegram/webhook (include_in_schema=False), so neither
is called here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.core.result import Err
from schemathesis.schemas import BaseSchema

from tests.conftest import API_TOKEN
from tests.e2e.service import Service

pytestmark = pytest.mark.e2e

AUTHORIZED = {"Authorization": f"Bearer {API_TOKEN}"}
# Not positive_data_acceptance: JSON Schema cannot say all that the edge refuses with a
# 422 (blank text, NUL, lone surrogates), so schema-valid requests are rightly refused.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
BOUNDED = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def operations(schema: BaseSchema) -> Iterator[APIOperation]:
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # a definition schemathesis cannot read is a failure too
            raise result.err()
        yield result.ok()


def fuzz(operation: APIOperation, mode: GenerationMode, session: requests.Session) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @BOUNDED
    def answers_as_declared(case: Case) -> None:
        response = case.call_and_validate(session=session, headers=AUTHORIZED, checks=CHECKS)
        # The document declares the bearer scheme: whatever schemathesis makes of it, every
        # call must carry the owner's token, or a 401 would pass for a declared answer.
        assert response.request.headers["Authorization"] == AUTHORIZED["Authorization"]
        assert response.status_code not in (401, 429), case.path

    answers_as_declared()


def modes(operation: APIOperation) -> list[GenerationMode]:
    """Negative examples only where something can be sent invalid: a body, a parameter
    that is not any string at all, or a required one (that can be left out). An operation
    with none of these (GET /health, a path that takes any id) has no invalid request."""
    return list(GenerationMode) if _can_be_invalid(operation) else [GenerationMode.POSITIVE]


def _can_be_invalid(operation: APIOperation) -> bool:
    if operation.body:
        return True
    for parameter in operation.iter_parameters():
        schema = parameter.definition.get("schema", {})
        any_string = schema.get("type") == "string" and not (schema.keys() - {"type", "title"})
        if not any_string or (parameter.is_required and parameter.location != "path"):
            return True
    return False


# schemathesis.pytest.from_fixture would start the service through a fixture, but its
# runner sets Node._nodeid, which pytest 9.2 no longer has: a plain loop over the
# operations, one subtest each, does the same through public APIs.
def test_every_operation_answers_as_declared(service: Service, subtests) -> None:
    service.start()
    # An explicit config, so a schemathesis.toml on the developer's machine changes nothing.
    # Without security parameters: from the bearer scheme schemathesis would otherwise make
    # an Authorization header of its own, and leave it out of negative cases, our token
    # included. Every call here carries the token; the 401s are
    # tests/integration/openapi/test_api_openapi_complete.py's.
    config = SchemathesisConfig.from_dict({"generation": {"with-security-parameters": False}})
    schema = schemathesis.openapi.from_url(f"{service.base_url}/openapi.json", config=config)
    with requests.Session() as session:
        for operation in operations(schema):
            for mode in modes(operation):
                with subtests.test(msg=f"{operation.label} ({mode.value})"):
                    fuzz(operation, mode, session)
