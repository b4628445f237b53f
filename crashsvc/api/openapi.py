"""``/api/v1/openapi.json``: the OpenAPI 3.1 spec, generated from the marshmallow schemas."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from marshmallow import Schema, fields, validate

from crashsvc.ingest import schema as report_schema

bp = Blueprint("openapi", __name__)

ERROR_CODES = [
    "invalid_json",
    "invalid_report",
    "invalid_encoding",
    "invalid_envelope",
    "unauthorized",
    "forbidden",
    "opt_in_required",
    "not_found",
    "payload_too_large",
    "unsupported_media_type",
    "rate_limited",
    "unavailable",
    "request_timeout",
]


def field_schema(field: fields.Field, components: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema for one marshmallow field (nested schemas become components)."""
    if isinstance(field, fields.Nested):
        nested = field.nested if isinstance(field.nested, type) else type(field.nested)
        name = nested.__name__.removesuffix("Schema")
        if name not in components:
            components[name] = {}
            components[name] = schema_object(nested(), components)
        result: dict[str, Any] = {"$ref": f"#/components/schemas/{name}"}
    elif isinstance(field, fields.List):
        result = {"type": "array", "items": field_schema(field.inner, components)}
    elif isinstance(field, fields.Dict):
        result = {"type": "object"}
        if field.value_field is not None:
            result["additionalProperties"] = field_schema(field.value_field, components)
    elif isinstance(field, fields.UUID):
        result = {"type": "string", "format": "uuid"}
    elif isinstance(field, fields.String):
        result = {"type": "string"}
    elif isinstance(field, fields.Boolean):
        result = {"type": "boolean"}
    elif isinstance(field, fields.Integer):
        result = {"type": "integer"}
    elif isinstance(field, report_schema.Address):
        result = {
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": report_schema.MAX_ADDRESS},
                {"type": "string", "pattern": "^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$"},
            ]
        }
    elif isinstance(field, report_schema.Timestamp):
        result = {"oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "format": "date-time"}]}
    elif isinstance(field, report_schema.Scalar):
        result = {"type": ["string", "number", "boolean"]}
    else:
        result = {}
    for validator in getattr(field, "validators", []):
        if isinstance(validator, validate.Length):
            key = "Items" if result.get("type") == "array" else "Length"
            if validator.max is not None:
                result[f"max{key}"] = validator.max
        elif isinstance(validator, validate.OneOf):
            result["enum"] = list(validator.choices)
        elif isinstance(validator, validate.Range):
            if validator.min is not None:
                result["minimum"] = validator.min
            if validator.max is not None:
                result["maximum"] = validator.max
    if field.metadata.get("description"):
        result["description"] = field.metadata["description"]
    return result


def schema_object(schema: Schema, components: dict[str, Any]) -> dict[str, Any]:
    properties = {name: field_schema(field, components) for name, field in schema.fields.items()}
    result: dict[str, Any] = {"type": "object", "properties": properties}
    required = [name for name, field in schema.fields.items() if field.required]
    if required:
        result["required"] = required
    if schema.__doc__:
        result["description"] = schema.__doc__.strip().splitlines()[0]
    return result


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def build_spec() -> dict[str, Any]:
    components: dict[str, Any] = {}
    report = schema_object(report_schema.ReportSchema(), components)
    report["properties"]["opt_in"]["const"] = True
    # ReportSchema.has_crash_content: a report carries an exception, threads or an Apple report.
    report["anyOf"] = [
        {"required": ["exception"], "properties": {"exception": {"minProperties": 1}}},
        {"required": ["threads"], "properties": {"threads": {"minItems": 1}}},
        {"required": ["apple_crash_report"], "properties": {"apple_crash_report": {"minLength": 1}}},
    ]
    components["Report"] = report
    components["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": ERROR_CODES},
                    "message": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }
        },
    }
    accepted = {
        "type": "object",
        "required": ["id", "delete_token"],
        "properties": {"id": {"type": "string", "format": "uuid"}, "delete_token": {"type": "string"}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "crashsvc",
            "version": "1",
            "description": "Opt-in, anonymized crash reports. Every error is JSON with a stable code.",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "ingestKey": {"type": "apiKey", "in": "header", "name": "X-Crashsvc-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "paths": {
            "/api/v1/reports": {
                "post": {
                    "summary": "Submit a crash report (requires opt_in: true)",
                    "security": [{"ingestKey": []}],
                    # Content-Encoding is transport, not a parameter: a generated header value would
                    # describe a body that was never compressed.
                    "description": "The body may be compressed: Content-Encoding gzip, deflate, br or zstd.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}},
                    },
                    "responses": {
                        "202": {
                            "description": "Accepted and durably queued",
                            "content": {"application/json": {"schema": accepted}},
                        },
                        "200": {
                            "description": "Already accepted (same report_id)",
                            "content": {"application/json": {"schema": accepted}},
                        },
                        "400": _error_response("invalid_json, invalid_report or invalid_encoding"),
                        "401": _error_response("unauthorized"),
                        "403": _error_response("opt_in_required"),
                        "408": _error_response("request_timeout (the body stalled)"),
                        "413": _error_response("payload_too_large"),
                        "415": _error_response("unsupported_media_type"),
                        "429": _error_response("rate_limited (with Retry-After)"),
                        "503": _error_response("unavailable (with Retry-After)"),
                    },
                }
            },
        },
    }


@bp.get("/api/v1/openapi.json")
def openapi_json() -> Response:
    return jsonify(build_spec())
