"""schemathesis against /api/v1/openapi.json: no 5xx, and every answer matches the spec.

schemathesis's pytest plugin (``from_fixture``) does not run under pytest 9 here, so each
operation's hypothesis strategy is driven directly, with a bounded number of examples.

The checks are the promise: no 5xx, a documented status, and a body matching its schema.
"Schema-valid data must be accepted" is left out: the spec is deliberately a little looser than
the validator (e.g. JSON Schema counts 12.0 as an integer; the validator wants 12).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import Factory

EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_every_operation_answers_within_its_spec(make_app):
    app = make_app()
    key = Factory(app).app_row().ingest_key
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the spec lists no operation"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def answers_within_spec(case):
            case.headers = {**(case.headers or {}), "X-Crashsvc-Key": key}
            case.call_and_validate(checks=CHECKS)

        answers_within_spec()
