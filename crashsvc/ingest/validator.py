"""A fast validator compiled from the marshmallow report schema, for the ingestion hot path.

marshmallow stays the single source of truth (OpenAPI, field docs, error wording), but loading a
40-frame report through it costs ~2-3 ms of Python per request — most of the edge's budget. This
module walks the schema once at start-up and builds plain closures that check the same types and
validators, drop the same unknown keys and nulls, and return the same cleaned dict. Anything the
compiler does not understand makes it refuse to compile (``UnsupportedField``), so a schema change
can never silently weaken validation; ``tests/foundation/test_validator.py`` checks, with
hypothesis, that both accept and refuse the same inputs.

Three compilations of the same schema run in order. The *exact tier* (``ExactTier``) is the
schema as msgspec types: it says, in C, whether a report is valid exactly as sent (nothing to drop
or convert), which nearly every SDK's report is; then the parse itself is the report. Otherwise two
walks in Python decide. The *fast* one (``compile_fast_schema``) tracks
no error paths and vouches only for inputs it fully understands: one call per field, exact types,
and at the first doubt it bails out. The *checking* one then decides and explains, with the same
per-field messages as marshmallow. Valid reports the exact tier cannot vouch for pay only the fast walk;
building an error path string for every field of every frame was most of the checking walk's cost.
"""

from __future__ import annotations

import functools
import sys
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, missing, validate

from crashsvc.ingest import schema as report_schema

Errors = dict[str, list[str]]
Checker = Callable[[Any, str, Errors], Any]

MISSING = object()


class UnsupportedField(TypeError):
    """The schema uses a field or validator this compiler does not know."""


def _error(errors: Errors, path: str, message: str) -> object:
    errors.setdefault(path or "_schema", []).append(message)
    return MISSING


def _compile_validators(field: fields.Field) -> list[Callable[[Any], str | None]]:
    checks: list[Callable[[Any], str | None]] = []
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.min is None and validator.equal is None:
            maximum = validator.max
            checks.append(
                lambda value, m=maximum: f"Longer than maximum length {m}." if len(value) > m else None
            )
        elif isinstance(validator, validate.OneOf):
            choices = frozenset(validator.choices)
            text = ", ".join(str(c) for c in validator.choices)
            checks.append(lambda value, c=choices, t=text: None if value in c else f"Must be one of: {t}.")
        elif isinstance(validator, validate.Range) and validator.min_inclusive and validator.max_inclusive:
            low, high = validator.min, validator.max
            checks.append(
                lambda value, lo=low, hi=high: (
                    None
                    if (lo is None or value >= lo) and (hi is None or value <= hi)
                    else "Not in the allowed range."
                )
            )
        else:
            raise UnsupportedField(f"validator {validator!r}")
    return checks


def _with_validators(base: Checker, field: fields.Field) -> Checker:
    checks = _compile_validators(field)
    if not checks:
        return base

    def checker(value: Any, path: str, errors: Errors) -> Any:
        result = base(value, path, errors)
        if result is MISSING:
            return MISSING
        for check in checks:
            message = check(result)
            if message:
                return _error(errors, path, message)
        return result

    return checker


def _string(value: Any, path: str, errors: Errors) -> Any:
    return value if isinstance(value, str) else _error(errors, path, "Not a valid string.")


def _integer(value: Any, path: str, errors: Errors) -> Any:
    if type(value) is int:
        return value
    return _error(errors, path, "Not a valid integer.")


def _boolean_checker(field: fields.Boolean) -> Checker:
    truthy, falsy = field.truthy, field.falsy

    def checker(value: Any, path: str, errors: Errors) -> Any:
        try:
            if value in truthy:
                return True
            if value in falsy:
                return False
        except TypeError:  # unhashable (list, dict)
            pass
        return _error(errors, path, "Not a valid boolean.")

    return checker


def _uuid(value: Any, path: str, errors: Errors) -> Any:
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    return _error(errors, path, "Not a valid UUID.")


def _custom(field: fields.Field) -> Checker:
    """Project fields (Address, Timestamp, Scalar) validate in plain Python already: reuse them."""

    def checker(value: Any, path: str, errors: Errors) -> Any:
        try:
            return field._deserialize(value, None, None)
        except ValidationError as error:
            for message in error.messages if isinstance(error.messages, list) else [str(error.messages)]:
                _error(errors, path, message)
            return MISSING

    return checker


def _raw(value: Any, path: str, errors: Errors) -> Any:
    return value


def compile_field(field: fields.Field) -> Checker:
    if isinstance(field, fields.Nested):
        nested = field.nested if isinstance(field.nested, type) else type(field.nested)
        base = compile_schema(nested())
    elif isinstance(field, fields.List):
        inner = compile_field(field.inner)

        def base(value: Any, path: str, errors: Errors) -> Any:
            if not isinstance(value, list):
                return _error(errors, path, "Not a valid list.")
            out = []
            for index, item in enumerate(value):
                result = inner(item, f"{path}.{index}", errors)
                if result is not MISSING:
                    out.append(result)
            return out

    elif isinstance(field, fields.Dict):
        base = _compile_dict(field)
    elif isinstance(field, fields.UUID):
        base = _uuid
    elif isinstance(field, fields.String):
        base = _string
    elif isinstance(field, fields.Boolean):
        base = _boolean_checker(field)
    elif isinstance(field, fields.Integer) and field.strict:
        base = _integer
    elif isinstance(field, report_schema.Address | report_schema.Timestamp | report_schema.Scalar):
        base = _custom(field)
    elif type(field) is fields.Raw:
        base = _raw
    else:
        raise UnsupportedField(f"field {type(field).__name__}")
    if field.data_key or field.dump_only:
        raise UnsupportedField("data_key / dump_only")
    typed = _with_validators(base, field)

    def checker(value: Any, path: str, errors: Errors) -> Any:
        if value is None:
            if field.allow_none:
                return None
            return _error(errors, path, "Field may not be null.")
        return typed(value, path, errors)

    return checker


def _compile_dict(field: fields.Dict) -> Checker:
    key_check = compile_field(field.key_field) if field.key_field is not None else None
    value_check = compile_field(field.value_field) if field.value_field is not None else None

    def checker(value: Any, path: str, errors: Errors) -> Any:
        if not isinstance(value, dict):
            return _error(errors, path, "Not a valid mapping type.")
        if key_check is None and value_check is None:
            return value
        out = {}
        for key, item in value.items():
            if key_check is not None and key_check(key, f"{path}.{key}.key", errors) is MISSING:
                continue
            if value_check is not None:
                item = value_check(item, f"{path}.{key}.value", errors)
                if item is MISSING:
                    continue
            out[key] = item
        return out

    return checker


def compile_schema(schema: Schema) -> Checker:
    """A checker for one schema: nulls dropped (the pre_load), unknowns excluded or kept."""
    compiled = {name: compile_field(field) for name, field in schema.fields.items() if not field.dump_only}
    required = [name for name, field in schema.fields.items() if field.required]
    unknown = schema.unknown
    if unknown not in (EXCLUDE, INCLUDE):
        raise UnsupportedField(f"unknown={unknown}")
    keep_unknown = unknown == INCLUDE
    schema_checks = _schema_checks(schema)

    def checker(value: Any, path: str, errors: Errors) -> Any:
        if not isinstance(value, dict):
            return _error(errors, f"{path}._schema" if path else "_schema", "Invalid input type.")
        out: dict[str, Any] = {}
        before = len(errors)  # paths inside this object are new keys, so any field error grows it
        for key, item in value.items():
            if item is None:
                continue  # the schemas' pre_load: null means absent
            check = compiled.get(key)
            if check is None:
                if keep_unknown:
                    out[key] = item
                continue
            result = check(item, f"{path}.{key}" if path else key, errors)
            if result is not MISSING:
                out[key] = result
        for name in required:
            field_path = f"{path}.{name}" if path else name
            if name not in out and field_path not in errors:
                _error(errors, field_path, "Missing data for required field.")
        if len(errors) == before:
            for check in schema_checks:
                message = check(out)
                if message:
                    _error(errors, f"{path}._schema" if path else "_schema", message)
        return out

    return checker


def _schema_checks(schema: Schema) -> list[Callable[[dict[str, Any]], str | None]]:
    if type(schema) is report_schema.ReportSchema:

        def crash_content(data: dict[str, Any]) -> str | None:
            if data.get("exception") or data.get("threads") or data.get("apple_crash_report"):
                return None
            return "A report needs an exception, threads or an apple_crash_report."

        return [crash_content]
    known = {"pre_load": [("drop_nulls", False, {})]}
    hooks = {tag: list(entries) for tag, entries in type(schema)._hooks.items() if entries}
    if hooks != known:
        raise UnsupportedField(
            f"{type(schema).__name__} has hooks this compiler does not know: {sorted(hooks)}"
        )
    return []


# -- the fast walk ---------------------------------------------------------------------------------
class Bail(Exception):
    """The fast walk cannot vouch for this input; the checking walk decides and explains."""


FastChecker = Callable[[Any], Any]
# Anything a fast checker raises sends the input to the checking walk, which is the authority.
BAIL_ON = (Bail, ValidationError, TypeError, ValueError, AttributeError, OverflowError)


def _fast_string(maximum: int | None) -> FastChecker:
    if maximum is None:

        def checker(value: Any) -> Any:
            if value.__class__ is str:
                return value
            raise Bail
    else:

        def checker(value: Any) -> Any:
            if value.__class__ is str and len(value) <= maximum:
                return value
            raise Bail

    return checker


def _fast_integer(low: Any, high: Any) -> FastChecker:
    def checker(value: Any) -> Any:
        if value.__class__ is int and (low is None or value >= low) and (high is None or value <= high):
            return value
        raise Bail

    return checker


def _fast_boolean(value: Any) -> Any:
    if value is True or value is False:
        return value
    raise Bail  # "true", 1, "yes"… are booleans to marshmallow too: the checking walk converts them


def _fast_raw(value: Any) -> Any:
    if value is None:
        raise Bail  # only reachable inside a list; the checking walk applies allow_none
    return value


def _fast_from_checking(field: fields.Field) -> FastChecker:
    """Fields without a fast form run their checking closure, with a throw-away error dict."""
    check = compile_field(field)

    def checker(value: Any) -> Any:
        errors: Errors = {}
        result = check(value, "", errors)
        if errors:
            raise Bail
        return result

    return checker


def _only_max_length(field: fields.Field) -> tuple[bool, int | None]:
    """(True, max) when the field's only validator is ``Length(max=…)`` (or it has none)."""
    if not field.validators:
        return True, None
    if len(field.validators) == 1:
        validator = field.validators[0]
        if isinstance(validator, validate.Length) and validator.min is None and validator.equal is None:
            return True, validator.max
    return False, None


def compile_fast_field(field: fields.Field) -> FastChecker:
    if field.data_key or field.dump_only:
        raise UnsupportedField("data_key / dump_only")
    simple, maximum = _only_max_length(field)
    if isinstance(field, fields.Nested):
        nested = field.nested if isinstance(field.nested, type) else type(field.nested)
        if field.validators:
            return _fast_from_checking(field)
        return compile_fast_schema(nested())
    if isinstance(field, fields.List) and simple:
        inner = compile_fast_field(field.inner)

        def checker(value: Any) -> Any:
            if value.__class__ is not list or (maximum is not None and len(value) > maximum):
                raise Bail
            return [inner(item) for item in value]

        return checker
    if type(field) is fields.String and simple:
        return _fast_string(maximum)
    if type(field) is fields.Integer and field.strict and len(field.validators) == 1:
        validator = field.validators[0]
        if isinstance(validator, validate.Range) and validator.min_inclusive and validator.max_inclusive:
            return _fast_integer(validator.min, validator.max)
    if type(field) is fields.Boolean and not field.validators:
        return _fast_boolean
    if (
        type(field) is fields.Dict
        and field.key_field is None
        and field.value_field is None
        and not field.validators
    ):

        def checker(value: Any) -> Any:
            if value.__class__ is dict:
                return value
            raise Bail

        return checker
    if type(field) is fields.Raw and not field.validators:
        return _fast_raw
    if type(field) in (report_schema.Address, report_schema.Timestamp) and not field.validators:
        deserialize = field._deserialize
        return lambda value: deserialize(value, None, None)  # raises ValidationError: a bail
    return _fast_from_checking(field)


class _Address:
    """Marks an ``Address`` field for the fast walk's inline check (see ``compile_fast_schema``)."""


ADDRESS = _Address()
# "0x" and at most 16 hex digits: always a valid Address (<= 2**64 - 1), kept as sent.
LONGEST_FAST_ADDRESS = 18


def _fast_spec(field: fields.Field) -> Any:
    """What the schema loop checks inline: an int (a string's maximum length), ADDRESS, or a checker.

    Strings and addresses are most of a report's values (every frame and image has several), and
    a function call per value was the fast walk's largest cost.
    """
    if field.data_key or field.dump_only:
        raise UnsupportedField("data_key / dump_only")
    if type(field) is fields.String:
        simple, maximum = _only_max_length(field)
        if simple:
            return maximum if maximum is not None else sys.maxsize
    if type(field) is report_schema.Address and not field.validators:
        return ADDRESS
    return compile_fast_field(field)


def compile_fast_schema(schema: Schema) -> FastChecker:
    """The fast walk of one schema: the checking walk's result for every input it does not bail on."""
    compiled = {name: _fast_spec(field) for name, field in schema.fields.items() if not field.dump_only}
    required = [name for name, field in schema.fields.items() if field.required]
    keep_unknown = schema.unknown == INCLUDE
    schema_checks = _schema_checks(schema)  # also refuses schemas with hooks the compiler does not know
    max_address = report_schema.MAX_ADDRESS

    def checker(value: Any) -> Any:
        if value.__class__ is not dict:
            raise Bail
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            spec = compiled.get(key)
            if spec is None:
                if keep_unknown:
                    out[key] = item
                continue
            if spec.__class__ is int:
                if item.__class__ is not str or len(item) > spec:
                    raise Bail
            elif spec is ADDRESS:
                if item.__class__ is str:
                    if not 2 < len(item) <= LONGEST_FAST_ADDRESS or item[:2] != "0x":
                        raise Bail
                    int(item, 16)  # ValueError: a bail
                elif item.__class__ is not int or not 0 <= item <= max_address:
                    raise Bail
            else:
                item = spec(item)
            out[key] = item
        for name in required:
            if name not in out:
                raise Bail
        for check in schema_checks:
            if check(out):
                raise Bail
        return out

    return checker


# -- the exact tier ---------------------------------------------------------------------------------
INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
# The only string addresses the exact tier takes: "0x" and 1-16 hex digits, always <= 2**64 - 1.
EXACT_ADDRESS = r"\A0x[0-9a-fA-F]{1,16}\Z"
CANONICAL_UUID = r"\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z"


class ExactTier:
    """The schema compiled to msgspec types: C-speed proof that a report is valid *as sent*.

    Why a third tier: on the ingestion path the fast walk still cost ~150 µs of Python per
    40-frame report, and the validator's share is the part of the edge that the echo endpoint
    does not pay (docs/performance.md, Ingest). ``msgspec.convert`` checks the same tree in C.

    It answers one question: would the checking walk accept this input *and return it
    unchanged* (no unknown key or null dropped, no value converted, ``report_id`` canonical)?
    Every msgspec type below is as tight as its field or tighter (integers past int64, "0X"
    addresses and anything else msgspec cannot express exactly are refused here and decided by
    the walks), string timestamps are checked by the field's own code, and the schemas that keep
    unknown keys are checked for nulls in Python. A "no" only means "ask the fast walk".
    ``tests/foundation/test_validator.py`` checks with hypothesis that a "yes" is always right.
    """

    def __init__(self, schema: Schema):
        self._free_paths: list[tuple[str, ...]] = []
        self._checks = _schema_checks(schema)
        self._type = self._struct(schema, ())

    def __call__(self, data: Any) -> bool:
        if data.__class__ is not dict:
            return False
        try:
            msgspec.convert(data, self._type)
        except (msgspec.ValidationError, TypeError, ValueError, OverflowError):
            return False
        for path in self._free_paths:
            value = data
            for key in path:
                value = value.get(key) if value.__class__ is dict else None
            if value.__class__ is dict and None in value.values():
                return False  # the walks drop null-valued keys: the report would change
        return not any(check(data) for check in self._checks)

    def _struct(self, schema: Schema, path: tuple[str, ...] | None) -> Any:
        if schema.unknown not in (EXCLUDE, INCLUDE):
            raise UnsupportedField(f"unknown={schema.unknown}")
        if schema.unknown == INCLUDE:
            if path is None:
                raise UnsupportedField("a schema that keeps unknown keys inside a list or dict")
            self._free_paths.append(path)
        if path != () and _schema_checks(schema):
            raise UnsupportedField(f"{type(schema).__name__}: checks on a nested schema")
        required, optional, timestamps = [], [], []
        for name, field in schema.fields.items():
            if field.dump_only or field.data_key or field.allow_none or field.load_default is not missing:
                raise UnsupportedField(f"{type(schema).__name__}.{name}: options the exact tier lacks")
            inner_path = None if path is None else (*path, name)
            kind = self._type_of(field, inner_path)
            if isinstance(field, report_schema.Timestamp):
                timestamps.append((name, field._deserialize))
            if field.required:
                required.append((name, kind))
            else:
                optional.append((name, kind, msgspec.UNSET))
        namespace = {"__post_init__": _timestamp_post_init(timestamps)} if timestamps else None
        return msgspec.defstruct(
            f"Exact{type(schema).__name__}",
            [*required, *optional],
            kw_only=True,
            forbid_unknown_fields=schema.unknown == EXCLUDE,
            namespace=namespace,
        )

    def _type_of(self, field: fields.Field, path: tuple[str, ...] | None) -> Any:
        if isinstance(field, fields.Nested):
            if field.validators:
                raise UnsupportedField("validators on a nested schema")
            nested = field.nested if isinstance(field.nested, type) else type(field.nested)
            return self._struct(nested(), path)
        if isinstance(field, fields.List):
            return self._constrained(list[self._type_of(field.inner, None)], field)  # type: ignore[misc]
        if type(field) is fields.Dict:
            keys = Any if field.key_field is None else self._type_of(field.key_field, None)
            values = Any if field.value_field is None else self._type_of(field.value_field, None)
            return self._constrained(dict[keys, values], field)  # type: ignore[valid-type]
        if type(field) is fields.UUID and not field.validators:
            return Annotated[str, msgspec.Meta(pattern=CANONICAL_UUID)]
        if type(field) is fields.String:
            choices = [v for v in field.validators if isinstance(v, validate.OneOf)]
            if choices and len(field.validators) == 1:
                return Literal[tuple(choices[0].choices)]  # type: ignore[valid-type]
            return self._constrained(str, field)
        if type(field) is fields.Boolean and not field.validators:
            return bool  # JSON true/false only; "yes" or 1 are converted by the walks
        if type(field) is fields.Integer and field.strict:
            return self._constrained(int, field)
        if type(field) is fields.Raw and not field.validators:
            return bool | int | float | str | list | dict  # anything but null
        if type(field) is report_schema.Address and not field.validators:
            return (
                Annotated[int, msgspec.Meta(ge=0, le=min(report_schema.MAX_ADDRESS, INT64_MAX))]
                | Annotated[str, msgspec.Meta(pattern=EXACT_ADDRESS)]
            )
        if type(field) is report_schema.Timestamp and not field.validators:
            bounds = msgspec.Meta(ge=0, lt=report_schema.TIMESTAMP_LIMIT)
            # Strings are also parsed by the field itself (the struct's __post_init__).
            return (
                Annotated[int, bounds]
                | Annotated[float, bounds]
                | Annotated[str, msgspec.Meta(max_length=64)]
            )
        if type(field) is report_schema.Scalar and not field.validators:
            return Annotated[str, msgspec.Meta(max_length=16384)] | int | float | bool
        raise UnsupportedField(f"field {type(field).__name__} in the exact tier")

    @staticmethod
    def _constrained(base: Any, field: fields.Field) -> Any:
        meta: dict[str, Any] = {}
        for validator in field.validators:
            if isinstance(validator, validate.Length) and validator.min is None and validator.equal is None:
                meta["max_length"] = validator.max
            elif (
                isinstance(validator, validate.Range)
                and validator.min_inclusive
                and validator.max_inclusive
                and base is int
            ):
                # msgspec's bounds stop at int64: clamping makes this tier tighter, never looser.
                if validator.min is not None:
                    meta["ge"] = max(validator.min, INT64_MIN)
                if validator.max is not None:
                    meta["le"] = min(validator.max, INT64_MAX)
            else:
                raise UnsupportedField(f"validator {validator!r} in the exact tier")
        return Annotated[base, msgspec.Meta(**meta)] if meta else base


def _timestamp_post_init(timestamps: list[tuple[str, Callable[..., Any]]]) -> Callable[[Any], None]:
    def __post_init__(self: Any) -> None:
        for name, deserialize in timestamps:
            value = getattr(self, name)
            if value.__class__ is str:
                try:
                    deserialize(value, None, None)
                except ValidationError as error:
                    raise ValueError(str(error.messages)) from None

    return __post_init__


class ReportValidator:
    """``validate(data) -> (report, errors)``; same outcome as ``ReportSchema().load``."""

    def __init__(self) -> None:
        self._check = compile_schema(report_schema.ReportSchema())
        self._fast = compile_fast_schema(report_schema.ReportSchema())
        self._exact = ExactTier(report_schema.ReportSchema())

    def validate(self, data: Any) -> tuple[dict[str, Any] | None, Errors]:
        report, errors, _vouched = self.check(data)
        return report, errors

    def check(self, data: Any) -> tuple[dict[str, Any] | None, Errors, bool]:
        """``validate`` plus whether the fast walk vouched for the input: then every value in the
        report has the type the client sent (no ``1`` became ``True``), except ``report_id``.

        When the exact tier proves the input valid as sent, the input itself is the report
        (``report_id`` stays the client's canonical string).
        """
        if self._exact(data):
            return data, {}, True
        try:
            return self._fast(data), {}, True
        except BAIL_ON:
            pass
        report, errors = self.validate_checking(data)
        return report, errors, False

    def validate_checking(self, data: Any) -> tuple[dict[str, Any] | None, Errors]:
        """The checking walk alone (what ``validate`` falls back to); for tests and explanations."""
        errors: Errors = {}
        result = self._check(data, "", errors)
        if errors:
            return None, errors
        return result, {}


@functools.cache
def report_validator() -> ReportValidator:
    """The process's compiled validator (built on first use, never at import)."""
    return ReportValidator()
