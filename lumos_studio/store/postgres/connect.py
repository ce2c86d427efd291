"""A ``postgresql://`` store target: parsed once, shown without its password, connected to with
one clear sentence when that fails (what was wrong, what to do) instead of a traceback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from lumos_studio.store.connection import StoreError

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql", "postgres")
# What a connection may take to be made: a server that is down answers at once, one behind a
# firewall would otherwise hold the command for the OS's TCP timeout.
CONNECT_TIMEOUT_S = 10

__all__ = ["SCHEMES", "PostgresUrl", "connect", "is_postgres_url", "parse_url"]


def is_postgres_url(text: str) -> bool:
    """Whether ``--db`` names a PostgreSQL database rather than a SQLite file."""
    return text.split("://", 1)[0].lower() in SCHEMES and "://" in text


@dataclass(frozen=True, slots=True)
class PostgresUrl:
    """A PostgreSQL database as ``--db`` names it; ``str()`` hides the password."""

    url: str
    host: str
    port: int
    database: str

    def __str__(self) -> str:
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        user = parts.username or ""
        netloc = f"{user}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))

    @property
    def local_path(self) -> Path:
        """Where the studio keeps what is its own beside a store (layout, workflow runs, the
        forwarding queue): ``.lumos/`` like a SQLite store's, under a name for the database."""
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.host}-{self.port}-{self.database}")
        return Path(".lumos") / f"{name}.pg"


def parse_url(text: str) -> PostgresUrl:
    """Read a ``postgresql://user[:password]@host[:port]/database`` URL (libpq's query options,
    ``?sslmode=require`` and the like, pass through); ``StoreError`` names what is missing."""
    try:
        parts = urlsplit(text)
        port = parts.port or 5432
    except ValueError as exc:
        raise StoreError(f"{_shown(text)!r} is not a PostgreSQL URL ({exc}); write "
                         "postgresql://user@host:5432/database") from None
    database = parts.path.lstrip("/")
    if parts.scheme.lower() not in SCHEMES or not parts.hostname or not database:
        raise StoreError(
            f"{_shown(text)!r} does not name a host and a database; write "
            "postgresql://user@host:5432/database")
    try:
        from psycopg.conninfo import conninfo_to_dict

        conninfo_to_dict(text)  # libpq's own reading: unknown query options fail here
    except ImportError:
        raise StoreError("PostgreSQL stores need psycopg; pip install 'psycopg[binary]'") from None
    except Exception as exc:
        raise StoreError(f"{_shown(text)!r} is not a URL libpq reads ({_first_line(exc)}); "
                         "write postgresql://user@host:5432/database") from None
    return PostgresUrl(text, parts.hostname, port, database)


def connect(target: PostgresUrl, *, autocommit: bool = False,
            row_factory: Any = None) -> psycopg.Connection[Any]:
    """A connection to ``target``; ``StoreError`` with the server's reason if it cannot be made."""
    import psycopg

    try:
        kwargs: dict[str, Any] = {"autocommit": autocommit, "connect_timeout": CONNECT_TIMEOUT_S,
                                  "application_name": "lumos-studio"}
        if row_factory is not None:
            kwargs["row_factory"] = row_factory
        return psycopg.connect(target.url, **kwargs)
    except psycopg.OperationalError as exc:
        raise StoreError(
            f"cannot reach the PostgreSQL store {target}: {_first_line(exc)}; start the server "
            "or correct --db") from None


def _first_line(exc: BaseException) -> str:
    """libpq's message without its hints on further lines (they repeat the host)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = next((line for line in reversed(lines) if "failed:" in line), lines[0] if lines
                  else type(exc).__name__)
    return reason.rsplit("failed: ", 1)[-1]


def _shown(text: str) -> str:
    """``text`` with a password in it hidden."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)
