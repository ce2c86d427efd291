"""The shared store: the same records, queries and search on PostgreSQL (``--db
postgresql://…``), so several ``serve`` processes on several machines write one database and any
studio opens it.

The writer and the reader are the SQLite store's (``StoreWriter``, ``StoreReader``) with their
storage swapped: ``writer.PostgresWriter`` keeps the writer thread, lanes, queue and batching
and writes each transaction to PostgreSQL; ``reader.PostgresReader`` runs the queries both
engines read alike as they are and has its own search. psycopg is imported only here.
"""

from __future__ import annotations

from lumos_studio.store.postgres.connect import PostgresUrl, is_postgres_url, parse_url

__all__ = ["PostgresUrl", "is_postgres_url", "parse_url"]
