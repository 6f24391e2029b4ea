"""Test support for the AWS collector: a recording, fault-injecting HTTP proxy in front of moto.

The proxy listens on 127.0.0.1, identifies the AWS operation of every request from the wire
alone (signing scope, ``X-Amz-Target``, ``Action=``, or the REST route in botocore's service
model), records it, and can answer chosen operations with an error, a delay or a bad body.
It is independent of the collector's own bookkeeping, so "only allowlisted operations reached
the server" is checked on what actually crossed the socket.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_SIGNING_TO_SERVICES = {
    "s3": ("s3control", "s3"),
    "monitoring": ("cloudwatch",),
    "sso": ("sso-admin",),
    "tagging": ("resourcegroupstaggingapi",),
}
_CREDENTIAL = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")


@dataclass(frozen=True)
class Record:
    """One request that reached the proxy."""

    operation: str | None
    """``service:Operation`` identified from the request, or ``None`` when unknown."""
    method: str
    """HTTP method."""
    path: str
    """Request path with query string."""


@dataclass
class Fault:
    """How to answer a matching request instead of (or before) forwarding it."""

    status: int = 0
    """HTTP status of the injected error (0: forward to moto)."""
    code: str = ""
    """AWS error code of the injected error."""
    delay: float = 0.0
    """Seconds to wait before answering (beyond the client's read timeout: a timeout)."""
    body: bytes | None = None
    """A 200 answer with this body instead of moto's (an unexpected response shape)."""
    match: str = ""
    """Only requests whose path, body or Authorization header (region) contains this text."""
    hits: int = 0
    """How many requests it answered."""


class _Routes:
    """Operation identification from botocore service models (cached per service)."""

    def __init__(self) -> None:
        import botocore.session

        self._session = botocore.session.get_session()
        self._models: dict[str, Any] = {}
        self._rest: dict[str, list[tuple[str, re.Pattern[str], dict[str, str | None], int, str]]] = {}
        self._lock = threading.Lock()

    def model(self, service: str) -> Any:
        """botocore's service model (cached)."""
        with self._lock:
            if service not in self._models:
                self._models[service] = self._session.get_service_model(service)
            return self._models[service]

    def _rest_routes(self, service: str) -> list[tuple[str, re.Pattern[str], dict[str, str | None], int, str]]:
        with self._lock:
            cached = self._rest.get(service)
        if cached is not None:
            return cached
        model = self.model(service)
        routes = []
        for name in model.operation_names:
            http = model.operation_model(name).http
            uri = http["requestUri"]
            path, _, query = uri.partition("?")
            pattern = ""
            literal = 0
            for token in re.split(r"(\{[^}]+\})", path):
                if token.startswith("{"):
                    pattern += ".+" if token.endswith("+}") else "[^/]+"
                else:
                    pattern += re.escape(token)
                    literal += len(token)
            required: dict[str, str | None] = {}
            for item in filter(None, query.split("&")):
                key, eq, value = item.partition("=")
                required[key] = value if eq else None
            routes.append((http["method"], re.compile(pattern.rstrip("/") + "/?"), required, literal, name))
        with self._lock:
            self._rest[service] = routes
        return routes

    def identify(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[str | None, str]:
        """``(service:Operation, wire style)``; the style picks the error format of a fault."""
        match = _CREDENTIAL.search(headers.get("Authorization", ""))
        if not match:
            return None, "rest-xml"
        signing = match.group(1)
        services = _SIGNING_TO_SERVICES.get(signing, (signing,))
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        # Several services speak more than one protocol (CloudWatch: JSON, CBOR or query), so the
        # request itself says which one was used.
        target = headers.get("X-Amz-Target", "")
        if target:
            return f"{services[0]}:{target.rpartition('.')[2]}", "json"
        if headers.get("smithy-protocol") and "/operation/" in parts.path:
            return f"{services[0]}:{parts.path.rpartition('/')[2]}", "smithy-rpc-v2-cbor"
        form = parse_qs(body.decode("utf-8", "replace")) if body and method == "POST" else query
        if "Action" in form:
            return f"{services[0]}:{form['Action'][0]}", "ec2" if services[0] == "ec2" else "query"
        best: tuple[int, int, str, str] | None = None
        path = unquote(parts.path)
        for service in services:
            style = str(self.model(service).protocol)
            for http_method, pattern, required, literal, name in self._rest_routes(service):
                if http_method != method or not pattern.fullmatch(path):
                    continue
                if any(k not in query or (v is not None and query[k][0] != v) for k, v in required.items()):
                    continue
                score = (len(required), literal, f"{service}:{name}", style)
                if best is None or score[:2] > best[:2]:
                    best = score
        return (best[2], best[3]) if best else (None, "rest-xml")


_ROUTES: _Routes | None = None


def identify(method: str, raw_path: str, headers: Any, body: bytes) -> tuple[str | None, str]:
    """``(service:Operation, wire style)`` of one HTTP request to an AWS endpoint, from the wire alone."""
    global _ROUTES  # noqa: PLW0603 - one lazily built route table per process
    if _ROUTES is None:
        _ROUTES = _Routes()
    return _ROUTES.identify(method, raw_path, headers, body)


def _cbor_text(value: str) -> bytes:
    data = value.encode()
    if len(data) < 24:
        return bytes([0x60 | len(data)]) + data
    return bytes([0x78, len(data)]) + data


def error_body(style: str, code: str, message: str) -> tuple[bytes, dict[str, str]]:
    """An AWS error response body and headers in one wire style (protocol)."""
    if style == "json":
        return (f'{{"__type":"{code}","message":"{message}"}}'.encode(),
                {"Content-Type": "application/x-amz-json-1.1", "x-amzn-query-error": f"{code};Sender"})
    if style == "rest-json":
        return (f'{{"message":"{message}"}}'.encode(),
                {"Content-Type": "application/json", "x-amzn-ErrorType": code})
    if style == "smithy-rpc-v2-cbor":
        body = bytes([0xA2]) + _cbor_text("__type") + _cbor_text(code) + _cbor_text("message") + _cbor_text(message)
        return body, {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    if style == "ec2":
        return (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>fault</RequestID></Response>").encode(), {"Content-Type": "text/xml"}
    if style == "query":
        return (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                f"</Error><RequestId>fault</RequestId></ErrorResponse>").encode(), {"Content-Type": "text/xml"}
    return (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>fault</RequestId></Error>").encode(), {"Content-Type": "application/xml"}


@dataclass
class RecordingProxy:
    """Forwarding proxy on 127.0.0.1 in front of an upstream (moto) server."""

    upstream_host: str
    upstream_port: int
    records: list[Record] = field(default_factory=list)
    faults: dict[str, Fault] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """Endpoint URL to give the collector."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fault(self, operation: str, status: int = 0, code: str = "", *, delay: float = 0.0,
              body: bytes | None = None, match: str = "") -> Fault:
        """Inject a fault on every matching request of ``operation``."""
        fault = Fault(status=status, code=code, delay=delay, body=body, match=match)
        self.faults[operation] = fault
        return fault

    def operations(self) -> list[str | None]:
        """Operations recorded, in arrival order."""
        with self._lock:
            return [r.operation for r in self.records]

    def start(self) -> RecordingProxy:
        """Listen on a free 127.0.0.1 port in a daemon thread."""
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                op, style = identify(self.command, self.path, self.headers, body)
                with proxy._lock:
                    proxy.records.append(Record(op, self.command, self.path))
                    fault = proxy.faults.get(op or "")
                # The match may name the region: it is in the signature's credential scope.
                if fault is not None and fault.match and fault.match not in self.path \
                        and fault.match.encode() not in body \
                        and fault.match not in self.headers.get("Authorization", ""):
                    fault = None
                if fault is not None:
                    fault.hits += 1
                    if fault.delay:
                        time.sleep(fault.delay)
                    if fault.status:
                        data, headers = error_body(style, fault.code, f"injected {fault.code}")
                        self._reply(fault.status, headers, data)
                        return
                    if fault.body is not None:
                        self._reply(200, {"Content-Type": "application/json"}, fault.body)
                        return
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=60)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                    conn.request(self.command, self.path, body=body or None, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                    out = {k: v for k, v in resp.getheaders()
                           if k.lower() not in ("transfer-encoding", "connection", "content-length", "keep-alive")}
                    self._reply(resp.status, out, data)
                finally:
                    conn.close()

            def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up (a timeout test): nothing to answer.
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # Clients keep connections alive; do not wait for them when stopping.
        self._server.block_on_close = False
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections kept alive by clients are not waited for)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class SilentServer:
    """A 127.0.0.1 socket that accepts connections and never answers (read timeouts)."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        """Endpoint URL of the silent socket."""
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._held.append(conn)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for conn in self._held:
            conn.close()
        self._sock.close()


def iter_allowed(records: list[Record]) -> Iterator[str]:
    """Recorded operations, failing loudly on any request that could not be identified."""
    for rec in records:
        assert rec.operation is not None, f"unidentified request {rec.method} {rec.path}"
        yield rec.operation
