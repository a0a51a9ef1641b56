"""The explorer's local web server: a JSON API and one static page, on the standard library's http.server."""

# Security model: a trainer's tool on their own machine. It binds to 127.0.0.1
# by default; when bound to a loopback address it answers only requests whose
# Host header names a loopback host (so a web page elsewhere cannot reach it by
# DNS rebinding). POST bodies must be JSON (a cross-site form cannot send that
# without a preflight the server never grants) and at most ``max_body`` bytes.
# Nothing a request carries is evaluated: documents are validated as scenario
# YAML by the explorer. Errors become JSON ``{"error", "hint"}``, never a
# traceback.

from __future__ import annotations

import ipaddress
import json
import signal
import socket
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Callable, Mapping

from reasoner.engine.limits import limited
from reasoner.lang.errors import EarlogError, QueryError, RenderError
from reasoner.web.explorer import Explorer

__all__ = ["ExplorerServer", "make_server", "run", "MAX_BODY", "DEFAULT_PORT", "STATIC_TYPES",
           "CLIENT_SECONDS", "REQUEST_LIMITS"]

DEFAULT_PORT = 8765
MAX_BODY = 1 << 20  # 1 MiB: far more than any scenario a form holds
# A client gets this long for each read or write, and for the whole request body.
CLIENT_SECONDS = 20.0
# One request's evaluations stop (with an error answer) after this long or this many facts.
REQUEST_LIMITS = {"seconds": 30.0, "facts": 2_000_000}

STATIC_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml",
                ".png": "image/png", ".ico": "image/x-icon"}
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'")


def _static_files() -> dict[str, tuple[bytes, str]]:
    """The page's files (``reasoner/web``), by URL name, read once."""
    out = {}
    for entry in resources.files("reasoner.web").joinpath("static").iterdir():
        name = entry.name
        ext = name[name.rfind("."):] if "." in name else ""
        if entry.is_file() and ext in STATIC_TYPES:
            out[name] = (entry.read_bytes(), STATIC_TYPES[ext])
    return out


class ExplorerServer(ThreadingHTTPServer):
    """A threading HTTP server holding one ``Explorer``.

    Args:
        address: (host, port); port 0 picks a free one (see ``server_port``).
        explorer: the explorer whose operations the API exposes.
        max_body: the largest POST body accepted, in bytes.
        log: called with one line per request (default: none).
        client_seconds: how long a client may take for each read or write, and for
            the whole request body.
    """

    daemon_threads = True
    allow_reuse_address = True
    # the listen backlog: a burst of clients waits to be accepted instead of being reset
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], explorer: Explorer, max_body: int = MAX_BODY,
                 log: Callable[[str], None] | None = None,
                 client_seconds: float = CLIENT_SECONDS) -> None:
        self.explorer = explorer
        self.max_body = max_body
        self.log = log
        self.client_seconds = client_seconds
        self.static = _static_files()
        self.loopback = _is_loopback(address[0])
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        """The page's address."""
        host = str(self.server_address[0])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.server_port}/"


def make_server(explorer: Explorer, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                max_body: int = MAX_BODY, log: Callable[[str], None] | None = None
                ) -> ExplorerServer:
    """Bind the explorer's server (it does not serve until ``run`` or ``serve_forever``).

    Raises:
        EarlogError: the address cannot be bound (in use, not local, no permission).
    """
    cls = _ExplorerServer6 if ":" in host else ExplorerServer
    try:
        return cls((host, port), explorer, max_body, log)
    except OSError as exc:
        raise EarlogError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                          hint="choose another port with --port (0 picks a free one)") from None


class _ExplorerServer6(ExplorerServer):
    address_family = socket.AF_INET6


def run(server: ExplorerServer) -> None:
    """Serve until Ctrl-C (or SIGTERM in the main thread); then close the socket and return."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


class _Handler(BaseHTTPRequestHandler):
    server: ExplorerServer
    server_version = "earlog-explorer"
    sys_version = ""
    timeout = CLIENT_SECONDS  # per socket read or write: a stalled client is dropped

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.client_seconds)

    # ---- plumbing --------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")

    def _send(self, status: int, body: bytes, ctype: str,
              headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy", _CSP)
        self.send_header("Referrer-Policy", "no-referrer")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: int, message: str, hint: str = "", **extra: Any) -> None:
        self._json(status, {"ok": False, "error": message, "hint": hint, **extra})

    def _host_ok(self) -> bool:
        if not self.server.loopback:
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in _LOOPBACK_NAMES

    def _guard(self, fn: Callable[[], None]) -> None:
        if not self._host_ok():
            self._error(HTTPStatus.FORBIDDEN, "this server answers only local requests",
                        hint="open it at http://127.0.0.1:PORT/")
            return
        try:
            with limited(**REQUEST_LIMITS):
                fn()
        except TimeoutError:
            self.close_connection = True  # a slow client: nothing more is sent
        except QueryError as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc), exc.hint)
        except RenderError as exc:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, str(exc), exc.hint)
        except EarlogError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc), exc.hint)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # noqa: BLE001 - a request must never show a traceback
            if self.server.log is not None:
                self.server.log(f"internal error: {type(exc).__name__}: {exc}")
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal error",
                        hint="the server log names it; please report it")

    # ---- methods ---------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        self._guard(self._get)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self._guard(self._get)

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        self._guard(self._post)

    def _get(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        path = url.path
        ex = self.server.explorer
        if path in ("/", "/index.html"):
            self._static("index.html")
        elif path == "/favicon.ico":
            self._static("favicon.svg")
        elif path.startswith("/static/"):
            self._static(path[len("/static/"):])
        elif path == "/api/init":
            self._json(HTTPStatus.OK, ex.initial())
        elif path == "/api/proof":
            self._file(*ex.proof_file(q.get("state"), q.get("tx"), q.get("format", "svg"),
                                      q.get("lang", "en"), q.get("whynots") == "1",
                                      q.get("level")), q)
        elif path == "/api/memo":
            self._file(*ex.memo_file(q.get("state"), q.get("tx"), q.get("format", "md"),
                                     q.get("lang", "en")), q)
        elif path == "/api/scenario.yaml":
            self._file(*ex.scenario_file(q.get("state")), q)
        elif path == "/api/rules":
            self._json(HTTPStatus.OK, ex.rules_view(
                q.get("focus") or "", _int(q.get("depth"), 2), q.get("lang", "en"),
                q.get("state") or None, q.get("tx") or None, q.get("regime", "ifr")))
        elif path == "/api/questions":
            self._json(HTTPStatus.OK, ex.questions(q.get("state"), q.get("tx"),
                                                   q.get("lang", "en")))
        elif path == "/api/rule":
            self._json(HTTPStatus.OK, ex.rule_info(q.get("id", ""), q.get("state") or None,
                                                   q.get("regime", "ifr")))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such page: {path}", hint="start at /")

    def _post(self) -> None:
        path = urllib.parse.urlsplit(self.path).path
        if path != "/api/decide":
            self._error(HTTPStatus.NOT_FOUND, f"no such endpoint: {path}", hint="POST /api/decide")
            return
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/json":
            self._error(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "expected Content-Type: application/json")
            return
        length = self.headers.get("Content-Length")
        if length is None or not length.strip().isdigit():
            self._error(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length")
            return
        size = int(length)
        if size > self.server.max_body:
            self.close_connection = True
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"request body of {size} bytes is over the limit of "
                        f"{self.server.max_body} bytes", hint="a scenario form is far smaller")
            return
        raw = self._body(size)
        try:
            request = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            self._error(HTTPStatus.BAD_REQUEST, "the body is not UTF-8 JSON")
            return
        if not isinstance(request, dict):
            self._error(HTTPStatus.BAD_REQUEST, "expected a JSON object",
                        hint="POST {\"document\": {...}}")
            return
        status, payload = self.server.explorer.decide(request)
        self._json(status, payload)

    def _body(self, size: int) -> bytes:
        """The request body, read within the client time limit in all (a client that sends a
        byte at a time cannot hold the connection longer).

        Raises:
            TimeoutError: the body did not arrive in time.
        """
        deadline = time.monotonic() + self.server.client_seconds
        parts: list[bytes] = []
        left = size
        while left > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("request body too slow")
            self.connection.settimeout(remaining)
            chunk = self.rfile.read1(min(left, 1 << 16))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        self.connection.settimeout(self.server.client_seconds)
        return b"".join(parts)

    def _static(self, name: str) -> None:
        found = self.server.static.get(name)
        if found is None:
            self._error(HTTPStatus.NOT_FOUND, f"no such file: {name}")
            return
        self._send(HTTPStatus.OK, found[0], found[1])

    def _file(self, data: bytes, ctype: str, name: str, q: Mapping[str, str]) -> None:
        how = "attachment" if q.get("download") else "inline"
        self._send(HTTPStatus.OK, data, ctype,
                   {"Content-Disposition": f'{how}; filename="{_safe_name(name)}"'})


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text is not None else default
    except ValueError:
        raise EarlogError(f"expected a whole number, found '{text}'") from None


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "download"

