"""Head office's database on PostgreSQL (psycopg 3): the ``Tx`` of store.py, with bulk forms of
the statements a push runs most (one COPY, one UPDATE ... FROM a JSON array) and the row and
advisory locks concurrent writers need. Imported only when head office is given a
``postgresql://`` URL, so the till and SQLite head offices never load psycopg.
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import msgspec

from sync.headoffice.store import Row, _init_settings, _insert_skipping, migrate, statements

_INSERT_VALUES = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \(([?, ]+)\)(.*)", re.S)
_UPDATE_SET = re.compile(r"UPDATE (\w+) SET ((?:\w+ = \?, )*\w+ = \?) WHERE (\w+) = \?", re.S)
_column_types: dict[str, dict[str, str]] = {}
_rows_json = msgspec.json.Encoder()


def _types(conn: Any, table: str) -> dict[str, str]:
    """Each column's SQL type (``format_type``), read once per table and process."""
    if table not in _column_types:
        rows = conn.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            (table,),
        ).fetchall()
        _column_types[table] = dict(rows)
    return _column_types[table]


def _bulk_sql(conn: Any, sql: str, rows: list[Sequence[Any]]) -> str | None:
    """``sql`` over all ``rows`` in one statement that reads them from one JSON array of arrays
    (``json_array_elements``, parsed in C), or None when it is not a shape we batch. Pipelined
    executemany costs PostgreSQL a parse-bind-execute per row and psycopg a Python round per
    row; this is one statement and one msgspec encoding (see bench/chain.py)."""
    text = " ".join(sql.split())
    insert = _INSERT_VALUES.fullmatch(text)
    if insert is not None:
        table, cols, rest = insert[1], [c.strip() for c in insert[2].split(",")], insert[4]
        if insert[3].count("?") != len(cols) or "?" in rest:
            return None
        types = _types(conn, table)
        values = ", ".join(f"(r->>{i})::{types[c]}" for i, c in enumerate(cols))
        return (
            f"INSERT INTO {table} ({', '.join(cols)}) SELECT {values} "
            f"FROM jsonb_array_elements(%s::jsonb) AS r{rest}"
        )
    if _UPDATE_SET.fullmatch(text) is not None:
        if len({row[-1] for row in rows}) != len(rows):
            return None  # a key twice: only executemany keeps "the last one wins"
        return _bulk_update(conn, text)
    return None


def _bulk_update(conn: Any, text: str, versioned: bool = False) -> str:
    """``UPDATE t SET a = ?, ... WHERE k = ?`` over a JSON array of rows (with distinct keys);
    ``versioned``: each row ends with the version it must still have, and the statement
    returns the keys it wrote."""
    update = _UPDATE_SET.fullmatch(text)
    if update is None:
        raise ValueError(f"not an UPDATE ... SET ... WHERE key = ?: {text}")
    table, key = update[1], update[3]
    sets = [part.split(" = ")[0] for part in update[2].split(", ")]
    types = _types(conn, table)
    assign = ", ".join(f"{c} = (r->>{i})::{types[c]}" for i, c in enumerate(sets))
    sql = (
        f"UPDATE {table} AS t SET {assign} FROM jsonb_array_elements(%s::jsonb) AS r "
        f"WHERE t.{key} = (r->>{len(sets)})::{types[key]}"
    )
    if versioned:
        sql += f" AND t.xmin = (r->>{len(sets) + 1})::xid RETURNING t.{key}"
    return sql


class _PostgresTx:
    dialect = "postgresql"
    row_version = "xmin::text"  # the transaction that wrote this version of the row

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("%", "%%").replace("?", "%s")

    def matching(self, column: str, values: Sequence[str]) -> list[tuple[str, list[Any]]]:
        """One condition over all ``values``, sent as one JSON array: psycopg parses a query
        for its placeholders anew when it is long (500 of them cost about 3 ms) and dumps a
        list parameter element by element in Python. Measured on 5,000 member ids: 44 ms as
        IN lists of 500, 27 ms as ``= ANY(list)``, 17 ms as this. ``ARRAY(...)`` keeps it an
        index scan (one InitPlan), where ``IN (SELECT ...)`` could plan as a join."""
        if not values:
            return []
        return [
            (
                f"{column} = ANY(ARRAY(SELECT jsonb_array_elements_text(?::jsonb)))",
                [_rows_json.encode(values).decode()],
            )
        ]

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        rows: list[Row] = self.conn.execute(self._sql(sql), params).fetchall()
        return rows

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row: Row | None = self.conn.execute(self._sql(sql), params).fetchone()
        return row

    def run(self, sql: str, params: Sequence[Any] = ()) -> int:
        count: int = self.conn.execute(self._sql(sql), params).rowcount
        return count

    def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """One statement over a JSON array of the rows for the two shapes the service batches,
        ``INSERT INTO t (cols) VALUES (?, ...) ...`` and ``UPDATE t SET a = ?, ... WHERE k = ?``
        with distinct keys; executemany for anything else. The same rows change either way:
        a row that conflicts with one inserted earlier in the statement is skipped as before."""
        rows = list(rows)
        bulk = _bulk_sql(self.conn, sql, rows) if len(rows) > 1 else None
        with self.conn.cursor() as cur:
            if bulk is None:
                cur.executemany(self._sql(sql), rows)
            else:
                cur.execute(bulk, (_rows_json.encode(rows).decode(),))
            count: int = cur.rowcount
            return count

    def insert_new(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
        """One COPY in a savepoint, which is all it takes unless a constraint refuses a row;
        then the savepoint is rolled back and the rows go in with INSERT ... ON CONFLICT DO
        NOTHING. The constraints decide either way (nothing is looked up first). COPY
        inserts a page of rows at a time with one WAL record, where INSERT ... ON CONFLICT
        inserts row by row, each speculatively: the unique indexes are probed first and the
        insertion confirmed by a second WAL record."""
        from psycopg import errors

        if not rows:
            return 0
        try:
            copy_sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with self.conn.transaction(), self.conn.cursor() as cur, cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        except errors.UniqueViolation:
            return self.many(_insert_skipping(table, columns), rows)

    def update_unchanged(self, sql: str, rows: Sequence[Sequence[Any]]) -> set[Any]:
        """One statement, no locks taken before it: it locks each row as it writes it. Under
        READ COMMITTED, a row another transaction is writing is waited for and its condition
        checked again on the version that transaction committed; a changed ``xmin`` means
        the row is skipped, so nothing is written over an account the caller did not read."""
        if not rows:
            return set()
        bulk = _bulk_update(self.conn, " ".join(sql.split()), versioned=True)
        found = self.conn.execute(bulk, (_rows_json.encode(rows).decode(),)).fetchall()
        return {r[0] for r in found}

    def lock_till(self, terminal_id: str) -> None:
        # One push per till at a time: the till's own row, locked until commit.
        self.conn.execute(
            "SELECT 1 FROM tills WHERE terminal_id = %s FOR UPDATE", (terminal_id,)
        ).fetchall()

    def lock_members(self, member_ids: Iterable[str]) -> dict[str, str]:
        """Row locks until commit, taken in member order so that two transactions touching the
        same members cannot deadlock; each locked row's version (``row_version``)."""
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        ((where, params),) = self.matching("member_id", ids)
        rows = self.all(
            f"SELECT member_id, xmin::text FROM members WHERE {where} "
            "ORDER BY member_id FOR UPDATE",
            params,
        )
        return dict(rows)

    def lock_free_members(self, member_ids: Iterable[str]) -> list[str]:
        """Row locks until commit on the members no other transaction holds (``SKIP
        LOCKED``): never waits, so it cannot deadlock either; the ids locked."""
        ids = sorted(set(member_ids))
        if not ids:
            return []
        ((where, params),) = self.matching("member_id", ids)
        rows = self.all(
            f"SELECT member_id FROM members WHERE {where} "
            "ORDER BY member_id FOR UPDATE SKIP LOCKED",
            params,
        )
        return [r[0] for r in rows]

    def lock_changes(self) -> None:
        # Change ids must become visible in id order, or a reader's cursor could skip one that
        # commits late: writers of changes take turns until they commit.
        self.conn.execute("SELECT pg_advisory_xact_lock(715517)").fetchall()


# Every push rewrites the account of each member it touches. Room on each page lets
# PostgreSQL write the new row version beside the old one (a heap-only tuple update), without
# new entries in the members' indexes: a push's 5,000 updates among a million members took
# about 20 us a row instead of 35-50 us when measured on this 2-core machine.
_FILLFACTOR = 70
_UPDATE_HEAVY = f" WITH (fillfactor = {_FILLFACTOR})"


class PostgresStore:
    """A small pool of psycopg connections, READ COMMITTED, explicit locks where order matters."""

    dialect = "postgresql"

    def __init__(self, url: str, size: int = 8) -> None:
        import psycopg  # the till never loads the driver

        self._psycopg = psycopg
        self.url = url
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.Semaphore(size)
        with self.transaction() as tx:
            tx.conn.execute("SELECT pg_advisory_xact_lock(715516)")
            for sql in statements():
                tx.conn.execute(
                    sql.format(
                        serial="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                        blob="BYTEA",
                        update_heavy=_UPDATE_HEAVY,
                        identity="BIGINT GENERATED BY DEFAULT AS IDENTITY",
                    )
                )
            # A database made before members had room on their pages: new pages get it.
            options = tx.conn.execute(
                "SELECT reloptions FROM pg_class WHERE oid = 'members'::regclass"
            ).fetchone()
            if not options[0] or f"fillfactor={_FILLFACTOR}" not in options[0]:
                tx.conn.execute(f"ALTER TABLE members SET (fillfactor = {_FILLFACTOR})")
            _init_settings(tx)
            migrate(tx)

    def _connect(self) -> Any:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            return self._psycopg.connect(self.url, autocommit=False)

    @contextmanager
    def transaction(self) -> Iterator[_PostgresTx]:
        with self._slots:
            conn = self._connect()
            try:
                yield _PostgresTx(conn)
            except BaseException:
                try:
                    conn.rollback()
                except Exception:
                    conn.close()
                    raise
                self._pool.put(conn)
                raise
            try:
                conn.commit()
            except BaseException:
                conn.close()
                raise
            self._pool.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                return
