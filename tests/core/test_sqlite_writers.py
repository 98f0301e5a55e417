"""SQLite writers queue on a file lock instead of polling for SQLite's lock."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from billfold.core.sqlite.base import DatabaseWrapper

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]


@contextmanager
def fresh_connection(*, busy_timeout: float = 20.0) -> Iterator[DatabaseWrapper]:
    settings = {**connection.settings_dict, "OPTIONS": {**connection.settings_dict["OPTIONS"], "timeout": busy_timeout}}
    database = DatabaseWrapper(settings, alias="writers-test")
    try:
        yield database
    finally:
        database.close()


def lock_is_free() -> bool:
    fd = os.open(f"{connection.settings_dict['NAME']}.write-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


@pytest.fixture
def table() -> Iterator[None]:
    with fresh_connection() as database, database.cursor() as cursor:
        cursor.execute("CREATE TABLE writers_test (id INTEGER PRIMARY KEY, writer INTEGER, n INTEGER)")
    yield
    with fresh_connection() as database, database.cursor() as cursor:
        cursor.execute("DROP TABLE writers_test")


def test_a_transaction_holds_the_write_turn_until_commit_or_rollback(table: None) -> None:
    with fresh_connection() as database:
        assert lock_is_free()
        database.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        with database.cursor() as cursor:
            cursor.execute("INSERT INTO writers_test (writer, n) VALUES (1, 1)")
        assert not lock_is_free()
        database.commit()
        assert lock_is_free()
        database.set_autocommit(True)

        database.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
        with database.cursor() as cursor:
            cursor.execute("INSERT INTO writers_test (writer, n) VALUES (1, 2)")
        assert not lock_is_free()
        database.rollback()
        assert lock_is_free()
        database.set_autocommit(True)
        with database.cursor() as cursor:
            cursor.execute("SELECT writer, n FROM writers_test")
            assert cursor.fetchall() == [(1, 1)]


def test_a_write_outside_a_transaction_waits_for_the_turn(table: None) -> None:
    holder_started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def hold() -> None:
        with fresh_connection() as database:
            database.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
            with database.cursor() as cursor:
                cursor.execute("INSERT INTO writers_test (writer, n) VALUES (1, 1)")
            holder_started.set()
            release.wait(10)
            order.append("holder commits")
            database.commit()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holder_started.wait(10)
    # A busy timeout shorter than the holder's transaction: polling SQLite's lock would fail.
    with fresh_connection(busy_timeout=0.01) as database:
        timer = threading.Timer(0.3, release.set)
        timer.start()
        with database.cursor() as cursor:
            cursor.execute("INSERT INTO writers_test (writer, n) VALUES (2, 1)")
        order.append("autocommit write done")
        timer.cancel()
    holder.join(10)
    assert order == ["holder commits", "autocommit write done"]
    assert lock_is_free()


def test_concurrent_writers_never_see_database_is_locked(table: None) -> None:
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            with fresh_connection(busy_timeout=0.001) as database:
                for n in range(100):
                    database.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
                    with database.cursor() as cursor:
                        cursor.execute("INSERT INTO writers_test (writer, n) VALUES (%s, %s)", [writer, n])
                    database.commit()
                    database.set_autocommit(True)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(writer,)) for writer in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with fresh_connection() as database, database.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM writers_test")
        assert cursor.fetchone() == (400,)


def test_an_implicit_transaction_keeps_the_turn_until_commit(table: None) -> None:
    with fresh_connection() as database:
        database.set_autocommit(False)  # sqlite3 opens a transaction at the first write
        with database.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM writers_test")
            assert lock_is_free()
            cursor.execute("INSERT INTO writers_test (writer, n) VALUES (1, 1)")
        assert not lock_is_free()
        database.commit()
        assert lock_is_free()


def _rows() -> list[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT writer, n FROM writers_test ORDER BY id")
        return [tuple(row) for row in cursor.fetchall()]


def _insert(writer: int, n: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO writers_test (writer, n) VALUES (%s, %s)", [writer, n])


def test_a_block_takes_the_turn_at_its_first_statement_not_before(table: None) -> None:

    with transaction.atomic(), transaction.atomic():  # a nested block's savepoint waits too
        assert lock_is_free()
        _insert(1, 1)
        assert not lock_is_free()
    assert lock_is_free()
    assert _rows() == [(1, 1)]


def test_savepoints_made_before_the_first_statement_still_roll_back(table: None) -> None:

    with transaction.atomic():
        try:
            with transaction.atomic():
                _insert(1, 1)  # begins the transaction, then creates the waiting savepoint
                raise RuntimeError("refused")
        except RuntimeError:
            pass
        with transaction.atomic():
            pass  # a savepoint made and released without a statement
        _insert(2, 1)
    assert _rows() == [(2, 1)]
    with transaction.atomic():
        pass  # a block with no statement at all commits nothing and leaves the turn free
    assert lock_is_free()
