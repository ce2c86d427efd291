"""The JSON value rules every OTLP/JSON decoder here shares (spans: ``json_codec``; logs:
``logs_codec``): attributes and AnyValues, ids, integers, times, enums, and the JSON types.

The readers are lenient (upper-case or base64 ids, int64 as numbers, enum names, snake_case keys)
because other producers are. Values are bounded to what SQLite and the UI hold, per value: a
time outside 0..2^63-1 ns (``1e30``, a negative number, a string of 40 digits) rejects its span
with the reason (OTLP partial success; clamping would store a made-up time), while an
``intValue`` beyond int64 is kept as sent, a float as that float and anything else as its digits
(the encoder writes such integers as a ``stringValue`` too): one odd attribute never costs its
span or its request.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from lumos_studio.otlp._common import INT64_MAX, INT64_MIN, OtlpDecodeError, short

__all__ = [
    "MALFORMED",
    "any_from_json",
    "as_list",
    "as_object",
    "as_text",
    "attributes_from_json",
    "either",
    "located",
    "read_enum",
    "read_hex_id",
    "read_id",
    "read_resource_list",
    "read_time",
    "read_uint32",
    "require_object",
]

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

# OtlpDecodeError is a ValueError; the others come from values of the wrong JSON type.
MALFORMED = (TypeError, ValueError, AttributeError)


def read_resource_list(obj: Any, camel: str, snake: str) -> list[Any]:
    """The top-level resource list of an export request, or an error saying what was wrong."""
    if not isinstance(obj, dict):
        raise OtlpDecodeError(f"expected a JSON object, got {type(obj).__name__}")
    try:
        return as_list(either(obj, camel, snake))
    except OtlpDecodeError as exc:
        raise OtlpDecodeError(f"{camel}: {exc}") from None


def located(where: str, exc: Exception) -> OtlpDecodeError:
    """``exc`` as a decode error that says where it happened (``resourceSpans[0]: ...``)."""
    if isinstance(exc, OtlpDecodeError):
        return OtlpDecodeError(f"{where}: {exc}")
    return OtlpDecodeError(f"{where}: malformed ({type(exc).__name__}: {exc})")


def read_uint32(value: Any, field: str) -> int:
    """A uint32 field (flags, dropped counts) given as a number or a decimal string."""
    number = _int(value, field)
    if 0 <= number <= 0xFFFFFFFF:
        return number
    raise OtlpDecodeError(f"{field}: {short(value)} is not a 32-bit unsigned integer")


def attributes_from_json(owner: dict[str, Any]) -> dict[str, Any]:
    """Read ``owner["attributes"]`` (a list of KeyValue) into a plain dict."""
    attributes = owner.get("attributes")
    if not attributes:
        return {}
    return _kvlist_from_json(attributes)


def _kvlist_from_json(values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in as_list(values):
        if type(kv) is not dict:
            raise OtlpDecodeError(f"attribute: expected an object, got {short(kv)}")
        key = kv.get("key")
        if type(key) is not str:
            raise OtlpDecodeError(f"attribute key must be a string, got {short(key)}")
        out[key] = any_from_json(kv.get("value"))
    return out


def any_from_json(value: Any) -> Any:
    """Decode one ``AnyValue`` object; the empty AnyValue (or a missing one) is None."""
    if type(value) is dict:
        for kind, inner in value.items():
            decode = _ANY_DECODERS.get(kind)
            if decode is not None:
                return decode(inner)
        return None  # empty, or only a value kind newer than this reader
    if value is None:
        return None
    raise OtlpDecodeError(f"attribute value: expected an object, got {short(value)}")


def _string_value(inner: Any) -> str:
    return inner if type(inner) is str else as_text(inner, "stringValue")


def _bool_value(inner: Any) -> bool:
    if type(inner) is bool:
        return inner
    raise OtlpDecodeError(f"boolValue: expected true or false, got {short(inner)}")


def _int_value(inner: Any) -> int | float | str:
    """An int64; one beyond int64 is kept as sent (see the module's docstring), not refused."""
    number = _int(inner, "intValue")
    if INT64_MIN <= number <= INT64_MAX:
        return number
    return inner if type(inner) is float else str(number)


def _double_value(inner: Any) -> float:
    if type(inner) is float or type(inner) is int:
        return float(inner)
    if isinstance(inner, str):
        try:
            return float(inner)  # also "NaN", "Infinity", "-Infinity" from proto3 JSON
        except ValueError:
            pass
    raise OtlpDecodeError(f"doubleValue: not a number: {short(inner)}")


def _array_value(inner: Any) -> list[Any]:
    return [any_from_json(item) for item in as_list(as_object(inner).get("values"))]


def _kvlist_value(inner: Any) -> dict[str, Any]:
    return _kvlist_from_json(as_object(inner).get("values"))


def _bytes_value(inner: Any) -> bytes:
    """Bytes stay bytes in a record, so they are written back as ``bytesValue``."""
    text = as_text(inner, "bytesValue")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        pass
    decoded = _b64_id(text)  # protobuf's JSON parser accepts URL-safe, unpadded base64 too
    if decoded is None:
        raise OtlpDecodeError(f"bytesValue: invalid base64 {short(text)}")
    return decoded


_ANY_DECODERS = {
    "stringValue": _string_value,
    "boolValue": _bool_value,
    "intValue": _int_value,
    "doubleValue": _double_value,
    "arrayValue": _array_value,
    "kvlistValue": _kvlist_value,
    "bytesValue": _bytes_value,
    "string_value": _string_value,
    "bool_value": _bool_value,
    "int_value": _int_value,
    "double_value": _double_value,
    "array_value": _array_value,
    "kvlist_value": _kvlist_value,
    "bytes_value": _bytes_value,
}


def read_enum(value: Any, names: dict[str, int], field: str) -> int:
    """An enum given as its number (the OTLP/JSON rule) or as its name (protobuf JSON)."""
    if value is None:
        return 0
    if type(value) is int:
        return value
    if isinstance(value, str):
        code = names.get(value.upper())
        if code is not None:
            return code
        if value.isdigit():
            return int(value)
    raise OtlpDecodeError(f"{field}: unknown value {short(value)}")


def read_id(value: Any, size: int, field: str) -> str:
    """A required trace or span id as lowercase hex; all zeros is invalid (OTLP spec)."""
    hex_id = read_hex_id(value, size, field)
    if hex_id.strip("0"):
        return hex_id
    raise OtlpDecodeError(f"{field}: all-zero id {short(value)} is invalid")


def read_hex_id(value: Any, size: int, field: str) -> str:
    """Normalise an id to lowercase hex; accepts hex in any case or base64 of ``size`` bytes.

    A string of hex digits only is always read as hex, so a truncated hex id is an error rather
    than a lucky base64 decode.
    """
    if isinstance(value, str) and value:
        raw: bytes | None = None
        if len(value) == 2 * size:
            try:
                raw = bytes.fromhex(value)
            except ValueError:
                raw = None
        elif not _HEX_DIGITS.issuperset(value):
            raw = _b64_id(value)
        if raw is not None and len(raw) == size:
            return raw.hex()
    if value is None or value == "":
        raise OtlpDecodeError(f"{field}: missing")
    expected = f"{2 * size} hex digits or base64 of {size} bytes"
    raise OtlpDecodeError(f"{field}: invalid id {short(value)} (expected {expected})")


def _b64_id(value: str) -> bytes | None:
    """Base64 (standard or URL-safe, padding optional), as protobuf's own JSON mapping emits."""
    text = value.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _int(value: Any, field: str) -> int:
    """An int64 given as a decimal string (the OTLP/JSON rule) or as a JSON number; missing is 0."""
    if type(value) is int:
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    elif type(value) is float and value.is_integer():
        return int(value)
    raise OtlpDecodeError(f"{field}: not an integer: {short(value)}")


def read_time(value: Any, field: str) -> int:
    """Nanoseconds since 1970 as SQLite holds them (int64, so before 2262); missing is 0."""
    number = _int(value, field)
    if 0 <= number <= INT64_MAX:
        return number
    raise OtlpDecodeError(
        f"{field}: {short(value)} is not a time the store can hold (0 to 2^63-1 ns since 1970, "
        "before the year 2262)"
    )


def as_text(value: Any, field: str) -> str:
    """A string field; missing is ""."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    raise OtlpDecodeError(f"{field}: expected a string, got {short(value)}")


def either(obj: dict[str, Any], camel: str, snake: str) -> Any:
    """A field under its OTLP/JSON name (camelCase) or its protobuf name (snake_case)."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def as_object(value: Any) -> dict[str, Any]:
    """A JSON object field; missing is {}."""
    if isinstance(value, dict):
        return value
    if value is None:
        return {}
    raise OtlpDecodeError(f"expected an object, got {short(value)}")


def require_object(value: Any) -> None:
    """Raise unless ``value`` is a JSON object (a span, an event, a log record...)."""
    if not isinstance(value, dict):
        raise OtlpDecodeError(f"expected an object, got {short(value)}")


def as_list(value: Any) -> list[Any]:
    """A JSON array field; missing is []."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    raise OtlpDecodeError(f"expected a list, got {short(value)}")
