"""How a PostgreSQL writer tells other processes' commits from its own (``StoreChange.others``).

PostgreSQL has no ``data_version`` that leaves out one connection's commits, so the writer
counts its own rows: the database's statistics (which the read-only studio's ``postgres.watch``
reads too) count the rows every process writes to each table, and each of the writer's
statements says how many it wrote (``rowcount`` matches the statistics exactly: an upsert's
update its WHERE skips is in neither, a span's out-of-line TOAST parts are another table's).
The rows written, less its own, change only with others' commits: one or two small queries a
second, between the writer's transactions, and nothing added to a commit.

Not a counter every writer bumps, nor a ``NOTIFY``: either costs each commit a statement (a
``NOTIFY`` also a lock all notifying commits of the cluster queue for), and hears only writers
that send it, not an older studio or ``psql``. Not transaction ids: they are the whole
cluster's, other databases' included.

Only the tables the studio shows count (``SHOWN``); the text queue and the held refreshes are
bookkeeping. A backend publishes its counts at most once a second, and up to ten seconds late
once idle, so before it reads them the writer has its own published
(``pg_stat_force_next_flush``, PostgreSQL 15 on): its rows and its count of them always meet,
and its commits reach every other watcher within a second. Before 15 they may meet a look late:
that look takes the writer's rows for others' (a reading too many), or hears others' a look
later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

__all__ = ["SHOWN", "OwnRows"]

SHOWN = ("spans", "traces", "logs", "span_texts")

_PUBLISH_OWN = "SELECT pg_stat_force_next_flush()"
_ROWS_WRITTEN = (
    "SELECT coalesce(sum(pg_stat_get_tuples_inserted(t) + pg_stat_get_tuples_updated(t) "
    "+ pg_stat_get_tuples_deleted(t)), 0) FROM unnest(%s::regclass[]) AS t"
)
_PUBLISHES_ON_ASK = 150_000  # server_version from which pg_stat_force_next_flush exists


class OwnRows:
    """The rows one writer wrote to the ``SHOWN`` tables, and what others wrote beside them."""

    def __init__(self) -> None:
        self.count = 0
        self._published = 0  # ``count`` when the writer's own counts were last published

    def wrote(self, rows: int) -> None:
        """Count a statement's rows (its ``rowcount``) on a ``SHOWN`` table, committed or not:
        the statistics count the rows of a transaction rolled back as well."""
        self.count += max(rows, 0)

    def others(self, connection: psycopg.Connection[Any]) -> int:
        """Rows other processes wrote to the ``SHOWN`` tables (since the statistics were last
        reset): changes only with their commits. On ``connection``, the writer's own, between
        two of its transactions."""
        if (self.count != self._published
                and connection.info.server_version >= _PUBLISHES_ON_ASK):
            with connection.transaction():  # published when it ends
                connection.execute(_PUBLISH_OWN)
            self._published = self.count
        with connection.transaction():
            row = connection.execute(_ROWS_WRITTEN, (list(SHOWN),)).fetchone()
        return (int(row[0]) if row else 0) - self.count
