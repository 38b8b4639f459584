"""A small, thread-safe pool of bound service-account connections.

ldap3's synchronous connections may be used by one thread at a time. The pool hands
each caller its own connection, opens at most ``size`` of them, and retries an
operation once on a fresh connection when a reused one turns out to be dead (the server
restarted, or closed it for being idle, as Active Directory does after 15 minutes).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from itsmcore import TemporaryFailure

log = logging.getLogger(__name__)

T = TypeVar("T")


def _is_timeout(e: BaseException) -> bool:
    """Whether ``e`` is a socket that waited too long (ldap3's receive errors subclass TimeoutError)."""
    return isinstance(e, TimeoutError) or "timed out" in str(e).lower()


class ConnectionPool(Generic[T]):
    """At most ``size`` connections made by ``open_connection``; ``run(fn)`` lends one to ``fn``."""

    def __init__(
        self,
        open_connection: Callable[[], T],
        close_connection: Callable[[T], None],
        *,
        size: int,
        wait: float,
        stale_errors: tuple[type[BaseException], ...],
        is_usable: Callable[[T], bool] = lambda _c: True,
        retry_on: Callable[[T, BaseException], bool] = lambda _c, _e: True,
        label: str = "directory",
    ):
        self._open = open_connection
        self._close = close_connection
        self._usable = is_usable
        self._retry_on = retry_on
        self._size = size
        self._wait = wait
        self._stale_errors = stale_errors
        self._label = label
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[T] = []
        self._closed = False

    def run(self, fn: Callable[[T], Any]) -> Any:
        """Call ``fn(connection)``; once more on a fresh connection when a reused one was dead or a server hung.

        ``retry_on(connection, error)`` decides whether the retry is worth it (a hung server
        is retried only when another one may answer).
        """
        for attempt in (1, 2):
            if not self._slots.acquire(timeout=self._wait):
                raise TemporaryFailure(
                    f"{self._label}: all {self._size} LDAP connections stayed busy for {self._wait:g} s; "
                    "try again shortly (or raise pool_size)"
                )
            try:
                conn, fresh = self._take()
                try:
                    result = fn(conn)
                except self._stale_errors as e:
                    self._discard(conn)
                    worth = self._retry_on(conn, e)  # always asked: it notes a hung server
                    # a timeout is worth a retry even on a fresh connection, when another server may answer
                    if attempt == 2 or not worth or (fresh and not _is_timeout(e)):
                        raise
                    log.info("%s: LDAP connection failed (%s); retrying on a new one", self._label, e)
                    continue
                except BaseException:
                    self._discard(conn)
                    raise
                self._give_back(conn)
                return result
            finally:
                self._slots.release()
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Unbind every idle connection; connections in use are closed when they come back."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            self._discard(conn)

    def _take(self) -> tuple[T, bool]:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._open(), True
            if self._usable(conn):
                return conn, False
            self._discard(conn)

    def _give_back(self, conn: T) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        self._discard(conn)

    def _discard(self, conn: T) -> None:
        try:
            self._close(conn)
        except Exception as e:  # closing a dead socket may fail; nothing to do about it
            log.debug("%s: closing an LDAP connection failed: %s", self._label, e)
