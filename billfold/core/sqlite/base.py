"""Django's SQLite backend with writers queued on a file lock.

SQLite lets one writer in at a time. A writer that finds the database locked waits in SQLite's
busy handler, which sleeps 1, 2, 5, 10... ms between tries: under concurrent writes the lock is
free most of the time those sleepers wait, so durable writes went at half the rate one writer
reaches alone, with p99 latencies of hundreds of ms (bench/README.md). Here every write
transaction first takes an exclusive ``flock`` on ``<database>.write-lock``, which the kernel hands
to the next waiter the moment it is released; SQLite's own lock is then free when asked for, and
its busy timeout remains for writers outside Billfold (the sqlite3 shell, a backup).

A write transaction is an ``atomic`` block (``BEGIN IMMEDIATE`` takes the write lock up front), or
a single writing statement in autocommit mode. The lock is per connection (its own open file), so
threads of one process queue like processes do. An atomic block's transaction begins with the
block's first statement rather than at its start, so the Python work before it does not hold the
lock (``begin_if_pending``).
"""

from __future__ import annotations

import fcntl
import functools
import os
from typing import Any

from django.db.backends.sqlite3 import base

# Statements that never take the write lock by themselves.
_READS = ("SELECT", "WITH", "PRAGMA", "EXPLAIN", "SAVEPOINT", "RELEASE", "ROLLBACK")


@functools.lru_cache(maxsize=4096)
def _qmark(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")  # type: ignore[no-any-return]


class DatabaseWrapper(base.DatabaseWrapper):
    _lock_fd: int | None = None
    _lock_held = False
    _begin_pending = False
    # Savepoints asked for before the transaction began: created once it does (``begin_if_pending``).
    _pending_savepoints: list[str] | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if not self.is_in_memory_db():
            self._lock_fd = os.open(f"{self.settings_dict['NAME']}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
        return connection

    def create_cursor(self, name: str | None = None) -> Any:
        cursor = self.connection.cursor(factory=CursorWrapper)
        cursor.database = self
        return cursor

    def writer_lock_acquire(self) -> bool:
        """Take the write turn unless this connection has it; True when this call took it."""
        if self._lock_fd is None or self._lock_held:
            return False
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._lock_held = True
        return True

    def writer_lock_release(self) -> None:
        if self._lock_held and self._lock_fd is not None:
            self._lock_held = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _start_transaction_under_autocommit(self) -> None:
        # Not yet: the transaction begins with its first statement (``begin_if_pending``).
        self._begin_pending = True

    def begin_if_pending(self) -> None:
        """Begin the atomic block's transaction (write turn, then ``BEGIN IMMEDIATE``) if it has not.

        Deferring it from the block's start to its first statement changes nothing the block can
        see (every statement still runs inside the transaction, under the write lock), but the
        Python work before that statement (validating a request's parameters, building objects)
        no longer holds up every other writer.
        """
        if not self._begin_pending:
            return
        self._begin_pending = False
        savepoints, self._pending_savepoints = self._pending_savepoints or [], None
        taken = self.writer_lock_acquire()
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
            for name in savepoints:
                self.connection.execute(f"SAVEPOINT {name}")
        except BaseException:
            if taken:
                self.writer_lock_release()
            raise

    def savepoint_deferred(self, query: str) -> bool:
        """Keep a savepoint statement of a transaction that has not begun yet; True if it was kept.

        Nested ``atomic`` blocks (services calling services) open savepoints before any query; run
        at once, the first would begin the transaction and take the write lock that early.
        """
        words = query.split()
        head = " ".join(words[:3]).upper()
        pending = self._pending_savepoints if self._pending_savepoints is not None else []
        if head.startswith("SAVEPOINT ") and len(words) == 2:
            self._pending_savepoints = [*pending, words[1]]
            return True
        if head.startswith("RELEASE SAVEPOINT ") and len(words) == 3 and words[2] in pending:
            # Releasing a savepoint releases the ones made after it too.
            self._pending_savepoints = pending[: pending.index(words[2])]
            return True
        if head.startswith("ROLLBACK TO SAVEPOINT") and len(words) == 4 and words[3] in pending:
            self._pending_savepoints = pending[: pending.index(words[3]) + 1]
            return True
        return False

    def _commit(self) -> None:
        self._begin_pending, self._pending_savepoints = False, None
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self.writer_lock_release()

    def _rollback(self) -> None:
        self._begin_pending, self._pending_savepoints = False, None
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self.writer_lock_release()

    def _close(self) -> None:
        self._begin_pending, self._pending_savepoints = False, None
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self.writer_lock_release()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


class CursorWrapper(base.SQLiteCursorWrapper):
    """Takes the write turn for a writing statement run outside a transaction.

    It also remembers its conversions of Django's ``%s`` placeholders to SQLite's ``?``: the regular
    expression doing it ran on every statement, and the statements of a process are few.
    """

    database: DatabaseWrapper | None = None

    def executemany(self, query: str, param_list: Any) -> Any:
        if self.database is not None and self.database._begin_pending:
            self.database.begin_if_pending()
        return super().executemany(query, param_list)

    def convert_query(self, query: str, *, param_names: list[str] | None = None) -> str:
        if param_names is not None:
            return super().convert_query(query, param_names=param_names)  # type: ignore[misc,no-any-return]
        return _qmark(query)

    def execute(self, query: str, params: Any = None) -> Any:
        database = self.database
        if database is not None and database._begin_pending:
            if database.savepoint_deferred(query):
                return self
            database.begin_if_pending()
        if database is None or self.connection.in_transaction or query.lstrip()[:11].upper().startswith(_READS):
            return super().execute(query, params)
        taken = database.writer_lock_acquire()
        try:
            return super().execute(query, params)
        finally:
            # With autocommit off (not Django's way), sqlite3 opened a transaction that lasts until
            # commit or rollback, which release the turn; otherwise the statement is done.
            if taken and not self.connection.in_transaction:
                database.writer_lock_release()
