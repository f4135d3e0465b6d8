"""EC2's request throttling, as a proxy in front of a moto server: one set of token buckets
for every client that goes through it (threads and processes alike), as EC2 keeps one per
account and Region.

EC2 throttles by request token buckets: mutating actions about 50 tokens refilled at 5 per
second, describes about 100 refilled at 20 per second. A request that finds its bucket
empty is answered ``RequestLimitExceeded`` (HTTP 503) and costs nothing.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

_THROTTLED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
    b"<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
    b"</Error></Errors><RequestID>throttled-by-eniops-testing</RequestID></Response>"
)


@dataclass
class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second; one token per request."""

    capacity: float
    rate: float
    tokens: float = -1.0
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def take(self) -> bool:
        """Spend a token if there is one."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def least_time(self, requests: int) -> float:
        """The shortest time `requests` requests can take through a full bucket."""
        return max(0.0, (requests - self.capacity) / self.rate)


def bucket_of(action: str) -> str:
    """Which bucket an EC2 action draws from."""
    return "describes" if action.startswith(("Describe", "Get")) else "mutating"


class ThrottlingProxy:
    """A proxy on 127.0.0.1 that forwards EC2 requests to `upstream` (a moto server) while
    its token buckets allow, and answers ``RequestLimitExceeded`` otherwise::

        with ThrottlingProxy(moto_url) as proxy:
            client = boto3.client("ec2", endpoint_url=proxy.endpoint, ...)
            ...
            proxy.throttled   # Counter: requests refused, by bucket
            proxy.allowed     # Counter: requests forwarded, by bucket
    """

    def __init__(
        self,
        upstream: str,
        *,
        mutating: tuple[float, float] = (50, 5),
        describes: tuple[float, float] = (100, 20),
    ) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        if parsed.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("the throttling proxy only fronts a local test server")
        self._upstream = (parsed.hostname, parsed.port or 80)
        self.buckets = {"mutating": TokenBucket(*mutating), "describes": TokenBucket(*describes)}
        self.allowed: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.actions: Counter[str] = Counter()
        #: When the first request arrived and the last answer left (monotonic).
        self.first = 0.0
        self.last = 0.0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """The URL clients use instead of the moto server's."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ThrottlingProxy:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def admit(self, action: str) -> bool:
        """Count the request; True when its bucket has a token for it (requests that are not
        EC2 actions, such as moto's own API, pass free)."""
        if not action:
            return True
        bucket = bucket_of(action)
        with self._lock:
            now = time.monotonic()
            self.first = self.first or now
            if self.buckets[bucket].take():
                self.allowed[bucket] += 1
                self.actions[action] += 1
                return True
            self.throttled[bucket] += 1
            return False

    def least_time(self) -> float:
        """The shortest time the requests forwarded so far could have taken: what the buckets
        themselves allow (each bucket full at the start)."""
        return max(bucket.least_time(self.allowed[name]) for name, bucket in self.buckets.items())

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        connection = http.client.HTTPConnection(*self._upstream, timeout=60)
        try:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            connection.close()
            with self._lock:
                self.last = time.monotonic()


def _action(path: str, body: bytes) -> str:
    query = urllib.parse.urlsplit(path).query
    fields = urllib.parse.parse_qs(query) | urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    return (fields.get("Action") or [""])[0]


def _handler(proxy: ThrottlingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if not proxy.admit(_action(self.path, body)):
                self._answer(503, [("Content-Type", "text/xml")], _THROTTLED)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            status, answer_headers, answer = proxy.forward("POST", self.path, headers, body)
            kept = [
                (k, v)
                for k, v in answer_headers
                if k.lower() not in ("connection", "transfer-encoding", "content-length")
            ]
            self._answer(status, kept, answer)

        do_GET = do_POST  # noqa: N815 - the name http.server calls

        def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    return Handler
