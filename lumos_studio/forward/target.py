"""Where a forward goes: an OTLP/HTTP base URL and the headers every request to it carries.

A target is given as the collector's base URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` is
(``http://collector:4318``); a URL that already ends in ``/v1/traces`` or ``/v1/logs`` is taken
as its base, so either form works. Headers come from the standard environment variables
(``OTEL_EXPORTER_OTLP_HEADERS``, and ``OTEL_EXPORTER_OTLP_TRACES_HEADERS`` /
``…_LOGS_HEADERS`` per signal), parsed by OpenTelemetry's own parser.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from opentelemetry.util.re import parse_env_headers

SIGNALS = ("traces", "logs")
_SIGNAL_PATH = re.compile(r"/v1/(traces|logs|metrics)/?$")
_ENV = "OTEL_EXPORTER_OTLP"
HEADERS_ENV = f"{_ENV}_HEADERS"


class BadForwardTarget(ValueError):
    """A ``--forward`` value that is not an http(s) URL; the message says what to give."""


@dataclass(frozen=True, slots=True)
class ForwardTarget:
    """One destination: its base URL and the headers sent with each signal."""

    base_url: str
    headers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def url(self, signal: str) -> str:
        """The endpoint for ``signal`` (``traces`` or ``logs``)."""
        return f"{self.base_url}/v1/{signal}"

    @property
    def label(self) -> str:
        """Host and port, for status lines (never the path, which may hold a key)."""
        parts = urlsplit(self.base_url)
        return parts.netloc.rpartition("@")[2] or self.base_url

    @property
    def spool_name(self) -> str:
        """A directory name for this target's queue: readable, unique per URL."""
        digest = hashlib.sha256(self.base_url.encode()).hexdigest()[:10]
        readable = re.sub(r"[^A-Za-z0-9.-]+", "_", self.label)[:60]
        return f"{readable}-{digest}"


def parse_target(text: str, environ: Mapping[str, str] | None = None) -> ForwardTarget:
    """A ``--forward`` value as a target; raises ``BadForwardTarget`` with what to give instead."""
    value = text.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BadForwardTarget(
            f"--forward {text!r} is not an http(s) URL; give the collector's OTLP/HTTP base URL, "
            "e.g. --forward http://127.0.0.1:4318"
        )
    if parts.query or parts.fragment:
        raise BadForwardTarget(
            f"--forward {text!r} has a query or fragment; give the collector's base URL only"
        )
    path = _SIGNAL_PATH.sub("", parts.path).rstrip("/")
    base = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    return ForwardTarget(base, headers_from_env(os.environ if environ is None else environ))


def headers_from_env(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Per signal, the headers OTel's exporters would send: the shared ones, then the signal's."""
    shared = parse_env_headers(environ.get(HEADERS_ENV, ""), liberal=True)
    result: dict[str, dict[str, str]] = {}
    for signal in SIGNALS:
        own = parse_env_headers(environ.get(f"{_ENV}_{signal.upper()}_HEADERS", ""),
                                liberal=True)
        result[signal] = {**shared, **own}
    return result
