"""Finding the records that fail a transaction, so that they alone are dropped.

The writer merges many clients' records into one transaction. A record the store cannot hold
(an integer past 64 bits, a value SQLite cannot bind) fails that transaction for all of them;
the decoders bound what they read (``otlp``), and this is the net under them: the failing rows
are halved until the bad records are found, those are dropped with their reason, and the rest
commits. A store that is locked, full or read-only is not a bad record: halving would not help,
so that error is handed back as it is.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from lumos_studio.store.pending import PendingRows

__all__ = ["is_data_error", "write_isolating"]

log = logging.getLogger(__name__)

# Writes ``rows`` in one transaction: None once committed, else what failed (rolled back).
TryWrite = Callable[[PendingRows], Exception | None]


def is_data_error(error: BaseException) -> bool:
    """Whether ``error`` comes from a value in the rows rather than from the store itself.

    Binding an int past 64 bits raises OverflowError, an unsupported type ProgrammingError
    ("Error binding parameter"), a lone surrogate UnicodeEncodeError (a ValueError); a bad
    value can also break a constraint. A locked, full or read-only store raises
    OperationalError, and a closed connection another ProgrammingError: those are not.
    """
    if isinstance(error, OverflowError | ValueError | TypeError | sqlite3.IntegrityError
                  | sqlite3.DataError | sqlite3.InterfaceError):
        return True
    return isinstance(error, sqlite3.ProgrammingError) and str(error).startswith(
        "Error binding parameter"
    )


def write_isolating(rows: PendingRows, try_write: TryWrite, rejected: list[str],
                    error: Exception | None = None) -> Exception | None:
    """Write ``rows``, halving them while a record fails, so that all but the failing records
    commit; ``error`` is how ``rows`` failed, if that is known already.

    Each record dropped is logged and its reason appended to ``rejected``. A batch of n rows
    with one bad record takes about 2·log2(n) small transactions. Returns None, or the error of
    the store itself, after which what was left is not committed.
    """
    if error is None:
        error = try_write(rows)
        if error is None:
            return None
    if not is_data_error(error):
        return error
    if len(rows) <= 1:
        reason = (f"{rows.describe()}: the store cannot hold a value of it "
                  f"({type(error).__name__}: {error})")
        log.warning("dropped a record: %s", reason)
        rejected.append(reason)
        return None
    first, second = rows.split()
    failure = write_isolating(first, try_write, rejected)
    return write_isolating(second, try_write, rejected) or failure
