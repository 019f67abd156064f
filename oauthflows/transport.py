"""How token requests reach the network: kept-alive connections, a total deadline and the
address policy.

Only `oauthflows.client` uses this module.

Connections: each process (each thread) keeps one session whose connections to a token
host are reused while they have been idle less than MAX_IDLE_SECONDS. A refresh then does
not open a TCP and TLS connection each time (beat's batches and a burst of consumers ask
the same host many times a second). A connection idle longer is closed before use: a server
that closed it meanwhile would otherwise make the next request fail after it was sent, and a
refresh token must not be sent twice.

The deadline: requests' timeouts apply to each socket operation, so a server that trickles
one byte a second holds a request for as long as it likes. Every socket a token request
uses is watched until the request's total time is up, by one watchdog thread per process
(not a thread per request), which then shuts the socket down.

The address policy (securitymaterial.addresses): every new connection resolves the host,
refuses internal addresses before any packet is sent, and connects to exactly the address
it checked (a DNS answer cannot change in between). A kept connection goes on to that same
checked address. Redirects are never followed (oauthflows.client).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

from securitymaterial import addresses
from securitymaterial.addresses import InternalAddressRefused

__all__ = ["Deadline", "InternalAddressRefused", "session"]

MAX_IDLE_SECONDS = 5.0
HOSTS_KEPT = 32  # token hosts with kept connections, per process

_local = threading.local()


class Deadline:
    """Shuts down the watched sockets when `seconds` have passed (the watchdog does)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def watch(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: TLS wrapping detaches the original socket object,
        # and shutting down the duplicate still ends the connection's blocking reads. Being
        # ours, it cannot meanwhile belong to another connection; closing it at the end
        # leaves a kept connection open.
        with self._lock:
            self._sockets.append(sock.dup())
            if self.expired:
                self._shut_down()

    def expire(self) -> None:
        with self._lock:
            if not self._done:
                self.expired = True
                self._shut_down()

    def _shut_down(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        _watchdog.add(self)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
            for sock in self._sockets:
                sock.close()
        _watchdog.remove(self)


class _Watchdog:
    """One thread per process that expires deadlines when their time is up."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._live: set[int] = set()
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def add(self, deadline: Deadline) -> None:
        with self._wake:
            self._ensure_thread()
            key = next(self._order)
            deadline._key = key  # type: ignore[attr-defined]
            self._live.add(key)
            heapq.heappush(self._heap, (time.monotonic() + deadline.seconds, key, deadline))
            self._wake.notify()

    def remove(self, deadline: Deadline) -> None:
        with self._wake:
            self._live.discard(getattr(deadline, "_key", -1))

    def _ensure_thread(self) -> None:
        import os

        # After a fork (gunicorn's and Celery's workers) the parent's thread is not there.
        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="token-deadlines", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._wake.wait()
                    continue
                due, key, deadline = self._heap[0]
                left = due - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)
                self._live.discard(key)
            deadline.expire()


_watchdog = _Watchdog()


class _GuardedConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        dns_host = self._dns_host
        try:
            checked = addresses.checked_address(dns_host, self.port)
        except socket.gaierror as error:
            raise NameResolutionError(self.host, self, error) from error
        self._dns_host = checked  # connect to what was checked ...
        try:
            sock = super()._new_conn()
        finally:
            self._dns_host = dns_host  # ... and verify TLS against the name
        _watch(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:  # a kept connection: this request's deadline watches it too
            _watch(self.sock)
        super().request(*args, **kwargs)


def _watch(sock: socket.socket) -> None:
    deadline: Deadline | None = getattr(_local, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _KeptIdleBriefly:
    """A pool's connections, reused only while idle less than MAX_IDLE_SECONDS."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        idle_since = getattr(conn, "idle_since", None)
        if idle_since is not None and time.monotonic() - idle_since > MAX_IDLE_SECONDS:
            conn.close()  # the request connects again (and checks the address again)
        return conn

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            conn.idle_since = time.monotonic()
        super()._put_conn(conn)  # type: ignore[misc]


class _HTTPPool(_KeptIdleBriefly, HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _HTTPSPool(_KeptIdleBriefly, HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def _kept_session() -> requests.Session:
    """This thread's session. The environment's proxies and .netrc are not used
    (trust_env): the token request's credentials go straight to the Token Service URL,
    whose address was checked."""
    http: requests.Session | None = getattr(_local, "session", None)
    if http is None:
        http = requests.Session()
        http.trust_env = False
        # No cookies: one artifact's token request must not carry what another's was given.
        http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        adapter = _Adapter(pool_connections=HOSTS_KEPT, pool_maxsize=1)
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        _local.session = http
    return http


@contextmanager
def session(total_seconds: float) -> Iterator[tuple[requests.Session, Deadline]]:
    """The session for one token request, and the deadline that ends it."""
    with Deadline(total_seconds) as deadline:
        _local.deadline = deadline
        try:
            yield _kept_session(), deadline
        finally:
            _local.deadline = None
