"""The native report schema (marshmallow): the single source of truth for validation and OpenAPI.

Unknown keys are dropped at the edge (``EXCLUDE``) except in the free-form objects (``device``,
``context``, ``tags``, breadcrumb ``data``), which the anonymizer treats as free text.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from marshmallow import (
    EXCLUDE,
    INCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

PLATFORMS = ("cocoa", "android", "native", "javascript", "dart", "other")
MAX_ADDRESS = 2**64 - 1
TIMESTAMP_LIMIT = 32503680000  # Unix seconds of the year 3000: later is not a crash time

short = validate.Length(max=1024)
medium = validate.Length(max=16 * 1024)
long_text = validate.Length(max=256 * 1024)


class Address(fields.Field):
    """A memory address: non-negative integer or hex string (``"0x1a2b"``), kept as sent."""

    default_error_messages = {"invalid": "Not a valid address (hex string or non-negative integer)."}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> Any:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int):
            if 0 <= value <= MAX_ADDRESS:
                return value
            raise self.make_error("invalid")
        if isinstance(value, str) and 0 < len(value) <= 20:
            text = value.lower()
            try:
                number = int(text, 16) if text.startswith("0x") else int(text, 10)
            except ValueError:
                raise self.make_error("invalid") from None
            if 0 <= number <= MAX_ADDRESS:
                return value
        raise self.make_error("invalid")


class Timestamp(fields.Field):
    """RFC 3339 string or Unix seconds (int or float)."""

    default_error_messages = {"invalid": "Not a valid timestamp (RFC 3339 string or Unix seconds)."}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> Any:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, int | float):
            if math.isfinite(value) and 0 <= value < TIMESTAMP_LIMIT:
                return value
            raise self.make_error("invalid")
        if isinstance(value, str) and len(value) <= 64:
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
                return value
            except ValueError:
                pass
        raise self.make_error("invalid")


def parse_time(value: object) -> datetime | None:
    """A ``Timestamp`` value (RFC 3339 text or Unix seconds) as an aware UTC datetime; None if neither.

    One reading for everyone who turns a report's time into a moment: the anonymizer, which stores
    it truncated to the hour, and the server id, which starts with that same hour.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None


class Scalar(fields.Field):
    """A JSON string, number or boolean (for free-form values such as tags)."""

    default_error_messages = {"invalid": "Must be a string, number or boolean."}

    def _deserialize(self, value: Any, attr, data, **kwargs) -> Any:
        if isinstance(value, str | int | float | bool) and (
            not isinstance(value, str) or len(value) <= 16384
        ):
            return value
        raise self.make_error("invalid")


class Strict(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def drop_nulls(self, data: Any, **kwargs) -> Any:
        # SDKs send ``null`` for "not known" (Sentry does for context_line, module, ...): same as absent.
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


class Free(Strict):
    class Meta:
        unknown = INCLUDE


class ConsentSchema(Strict):
    policy_version = fields.String(validate=short)
    granted_at = Timestamp()


class AppInfoSchema(Strict):
    id = fields.String(validate=short, metadata={"description": "Bundle id / package name"})
    name = fields.String(validate=short)
    version = fields.String(validate=short)
    build = fields.String(validate=short)


class OsSchema(Strict):
    name = fields.String(validate=short)
    version = fields.String(validate=short)
    build = fields.String(validate=short)
    kernel_version = fields.String(validate=short)


class DeviceSchema(Free):
    model = fields.String(validate=short)
    arch = fields.String(validate=short)
    family = fields.String(validate=short)
    manufacturer = fields.String(validate=short)


class MechanismSchema(Free):
    type = fields.String(validate=short)
    handled = fields.Boolean()
    signal = fields.Raw()
    code = fields.Raw()


class FrameSchema(Strict):
    instruction_addr = Address()
    symbol_addr = Address()
    image_addr = Address()
    function = fields.String(validate=medium)
    raw_function = fields.String(validate=medium)
    symbol = fields.String(validate=medium)
    module = fields.String(validate=medium)
    package = fields.String(validate=medium)
    filename = fields.String(validate=medium)
    abs_path = fields.String(validate=medium)
    lineno = fields.Integer(strict=True, validate=validate.Range(min=0, max=2**31))
    colno = fields.Integer(strict=True, validate=validate.Range(min=0, max=2**31))
    in_app = fields.Boolean()
    platform = fields.String(validate=short)
    context_line = fields.String(validate=medium)
    pre_context = fields.List(fields.String(validate=medium), validate=validate.Length(max=50))
    post_context = fields.List(fields.String(validate=medium), validate=validate.Length(max=50))
    vars = fields.Dict()


frame_list = validate.Length(max=4096)


class ExceptionSchema(Strict):
    type = fields.String(validate=short)
    value = fields.String(validate=long_text)
    module = fields.String(validate=short)
    mechanism = fields.Nested(MechanismSchema)
    frames = fields.List(
        fields.Nested(FrameSchema),
        validate=frame_list,
        metadata={"description": "The exception's own stack (managed crashes), innermost first"},
    )


class ThreadSchema(Strict):
    id = fields.Raw(metadata={"description": "Thread id (number or string)"})
    name = fields.String(validate=short)
    crashed = fields.Boolean()
    current = fields.Boolean()
    frames = fields.List(
        fields.Nested(FrameSchema), validate=frame_list, metadata={"description": "Innermost frame first"}
    )


class ImageSchema(Strict):
    type = fields.String(validate=short)
    debug_id = fields.String(validate=short)
    code_id = fields.String(validate=short)
    code_file = fields.String(validate=medium)
    debug_file = fields.String(validate=medium)
    image_addr = Address()
    image_size = fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_ADDRESS))
    image_vmaddr = Address()
    arch = fields.String(validate=short)
    uuid = fields.String(validate=short)


class BreadcrumbSchema(Strict):
    timestamp = Timestamp()
    type = fields.String(validate=short)
    category = fields.String(validate=short)
    level = fields.String(validate=short)
    message = fields.String(validate=long_text)
    data = fields.Dict()


class SdkSchema(Strict):
    name = fields.String(validate=short)
    version = fields.String(validate=short)


class ReportSchema(Strict):
    """A crash report as an app (or its SDK) sends it."""

    opt_in = fields.Boolean(
        required=True, metadata={"description": "Must be JSON true: the user's explicit opt-in"}
    )
    consent = fields.Nested(ConsentSchema)
    report_id = fields.UUID(metadata={"description": "Client id; a resend answers 200 with the same id"})
    timestamp = Timestamp()
    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    release = fields.String(validate=short)
    environment = fields.String(validate=short)
    app = fields.Nested(AppInfoSchema)
    os = fields.Nested(OsSchema)
    device = fields.Nested(DeviceSchema)
    exception = fields.Nested(ExceptionSchema)
    threads = fields.List(fields.Nested(ThreadSchema), validate=validate.Length(max=1024))
    images = fields.List(fields.Nested(ImageSchema), validate=validate.Length(max=8192))
    breadcrumbs = fields.List(fields.Nested(BreadcrumbSchema), validate=validate.Length(max=1000))
    user = fields.Dict()
    tags = fields.Dict(keys=fields.String(validate=short), values=Scalar())
    context = fields.Dict()
    fingerprint = fields.List(fields.String(validate=short), validate=validate.Length(max=32))
    apple_crash_report = fields.String(validate=validate.Length(max=4 * 1024 * 1024))
    sdk = fields.Nested(SdkSchema)

    @validates_schema
    def has_crash_content(self, data: dict[str, Any], **kwargs) -> None:
        if not (data.get("exception") or data.get("threads") or data.get("apple_crash_report")):
            raise ValidationError("A report needs an exception, threads or an apple_crash_report.", "_schema")


def flatten_errors(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict → ``{"threads.0.frames.3.lineno": ["..."]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, path))
    elif isinstance(messages, list) and all(isinstance(item, str) for item in messages):
        flat[prefix or "_schema"] = list(messages)
    else:
        flat[prefix or "_schema"] = [str(messages)]
    return flat
