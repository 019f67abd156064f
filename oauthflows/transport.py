"""How token requests reach the network: a total deadline and the address policy.

Only `oauthflows.client` uses this module.

requests' timeouts apply to each socket operation, so a server that trickles one byte a
second holds a request for as long as it likes. Here every socket a token request opens is
watched by a timer that shuts it down when the request's total time is up.

The same connection class applies the one address policy (securitymaterial.addresses) when
it connects: it resolves the host itself, refuses internal addresses before any packet is
sent, and connects to exactly the address it checked (a DNS answer cannot change in between).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NameResolutionError

from securitymaterial import addresses
from securitymaterial.addresses import InternalAddressRefused

__all__ = ["Deadline", "InternalAddressRefused", "session"]

_local = threading.local()


class Deadline:
    """Shuts down the watched sockets when `seconds` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def watch(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: TLS wrapping detaches the original socket object,
        # and shutting down the duplicate still ends the connection's blocking reads. Being
        # ours, it cannot meanwhile belong to another connection.
        with self._lock:
            self._sockets.append(sock.dup())
            if self.expired:
                self._shut_down()

    def _expire(self) -> None:
        with self._lock:
            if not self._done:
                self.expired = True
                self._shut_down()

    def _shut_down(self) -> None:
        for sock in self._sockets:
            with contextlib.suppress(OSError):  # already closed by the other side
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
            self._timer.cancel()
            for sock in self._sockets:
                sock.close()


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
        deadline: Deadline | None = getattr(_local, "deadline", None)
        if deadline is not None:
            deadline.watch(sock)
        return sock


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


@contextmanager
def session(total_seconds: float) -> Iterator[tuple[requests.Session, Deadline]]:
    """A session for one token request, and the deadline that ends it.

    The environment's proxies and .netrc are not used (trust_env): the token request's
    credentials go straight to the Token Service URL, whose address was checked.
    """
    with requests.Session() as http:
        http.trust_env = False
        adapter = _Adapter()
        http.mount("http://", adapter)
        http.mount("https://", adapter)
        with Deadline(total_seconds) as deadline:
            _local.deadline = deadline
            try:
                yield http, deadline
            finally:
                _local.deadline = None
