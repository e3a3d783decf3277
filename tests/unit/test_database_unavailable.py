"""Which errors say the database cannot be reached (the APIs' 503, the engine's wait) and
which are the caller's (a 500 or a 400 as before)."""

from __future__ import annotations

import asyncpg
import pytest

from dialerd.store.pool import database_unavailable


def _caused_by(cause: BaseException) -> RuntimeError:
    exc = RuntimeError("wrapped")
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.InternalClientError("cannot switch to state 15"),
        asyncpg.InterfaceError("connection is closed"),
        _caused_by(ConnectionResetError()),
    ],
)
def test_unreachable(exc: BaseException) -> None:
    assert database_unavailable(exc)


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.UndefinedTableError("no such table"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        ValueError("bug"),
    ],
)
def test_the_callers_own(exc: BaseException) -> None:
    assert not database_unavailable(exc)
