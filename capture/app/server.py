"""HTTP server of the capture app (``http.server``; no third-party web framework, no CDN).

Routes (JSON unless noted):
  GET  /                      the app page; GET /static/<file> its assets
  GET  /api/status            session, devices, counters, quotas, free disk, last capture, last error
  GET  /api/preview?device=N  JPEG data URLs of RGB, colourised depth and IR, plus the fill rate
  GET  /api/last              the newest capture read back from disk (review)
  POST /api/session           {name, operator, scene_category, location_note}: open a session
  POST /api/capture           {category, burst}: capture one frame or a burst
  POST /api/delete_last       remove the newest capture
  POST /api/emitter           {on}: switch every device's IR projector
Failures answer ``{"error": message}`` with a 4xx/5xx status; the page shows the message.

Only the app's own page may use it (``RequestGuard``): every request must name the bound address in
``Host`` (a DNS-rebinding page names its own domain), an ``Origin``, when sent, must be the app's own
(another web page's fetch), and every POST must carry the token that this start of the app wrote into
its page (``X-Depthcur-Token``), which no other origin can read. Bodies are JSON of at most 64 KiB.
Each refusal is a 4xx with the reason, logged as a warning.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import mimetypes
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse, urlsplit

from depthcur.core.pictures import depth_colormap
from depthcur.core.progress import get_logger
from depthcur.schemas import SchemaError, read_sample, sample_dir

from ..cameras import CaptureError
from ..job import PREVIEW_WIDTH
from ..categories import make_quotas
from ..preview import ir_to_grey, jpeg_data_url, thumbnail
from ..recorder import DiskSpaceError, Recorder, SessionNameError, SessionSettings, capture_key

log = get_logger(__name__)

# resolved: in an editable install each file is a link, and the containment check below compares real paths
STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_BODY = 64 * 1024
#: the header every POST carries the page's token in, and the placeholder index.html holds for it
TOKEN_HEADER = "X-Depthcur-Token"
TOKEN_PLACEHOLDER = b"{{DEPTHCUR_TOKEN}}"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD_HOSTS = frozenset({"", "0.0.0.0", "::"})
#: the page loads only its own files (and JPEG data URLs) and may not be framed by another page
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class ListenError(CaptureError):
    """The app cannot listen on the address it was given."""


class Refused(Exception):
    """A request the server answers with ``status`` and ``message`` without routing it."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RequestGuard:
    """Which requests reach the routes: by ``Host``, ``Origin`` and, for POST, the token of this start."""

    #: host names (lower case) a request may give in ``Host``, with ``port``
    names: frozenset[str]
    port: int
    #: bound to every interface: any IP address is ours too (a rebinding page can only give a domain name)
    any_address: bool
    token: str

    @classmethod
    def for_address(cls, host: str, bound: tuple[str, int]) -> "RequestGuard":
        """The guard of a server given ``host`` and bound to ``bound`` (address and port)."""
        host = host.strip().lower()
        names = ({host} | {bound[0]}) - WILDCARD_HOSTS
        if host in LOOPBACK_NAMES:
            names |= LOOPBACK_NAMES
        elif host in WILDCARD_HOSTS:
            names |= LOOPBACK_NAMES | {socket.gethostname().lower()}
        return cls(frozenset(names), bound[1], host in WILDCARD_HOSTS, secrets.token_urlsafe(32))

    def host_allowed(self, host: str | None) -> bool:
        """``host`` (a ``Host`` header) names this server: one of ``names`` (or an IP address) and ``port``."""
        if not host:
            return False
        parts = urlsplit("//" + host)
        try:
            port = parts.port or 80
        except ValueError:
            return False
        if parts.netloc != host or parts.username is not None or parts.hostname is None or port != self.port:
            return False
        return parts.hostname in self.names or (self.any_address and _is_ip_address(parts.hostname))

    def origin_allowed(self, origin: str, host: str) -> bool:
        """``origin`` is this app's own: the page the request came from was served for ``host``."""
        return origin.lower() == f"http://{host.lower()}"

    def token_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def preview_pictures(frame, width: int) -> dict[str, str | None]:
    """The live preview's JPEG data URLs: RGB and depth colours at most ``width`` wide, IR at half that."""
    return {"rgb": jpeg_data_url(thumbnail(frame.rgb, width)),
            "depth": jpeg_data_url(depth_colormap(thumbnail(frame.depth_raw, width, nearest=True))),
            # shrink first: the stretch of uint16 IR then touches thumbnail pixels only
            "ir": jpeg_data_url(ir_to_grey(thumbnail(frame.ir_left, width // 2))) if frame.ir_left is not None
            else None}


class CaptureApp:
    """What the routes do, independent of HTTP (tests call it directly too)."""

    def __init__(self, recorder: Recorder, *, total_target: int | None = None,
                 quota_shares: dict[str, float] | None = None, preview_width: int = PREVIEW_WIDTH):
        self.recorder = recorder
        self.preview_width = preview_width
        rig_config = recorder.rig.config
        self.total_target = total_target or rig_config.total_target
        self.quota_shares = quota_shares or rig_config.quotas
        self.device_status = {name: "ok" for name in recorder.rig.cameras}
        self.last_error = ""
        self._status_lock = threading.Lock()

    # ------------------------------------------------------------ helpers

    def _note_error(self, exc: Exception) -> str:
        message = str(exc)
        with self._status_lock:
            self.last_error = message
            for name in self.device_status:
                if message.startswith(f"device {name}:"):
                    self.device_status[name] = f"error: {message}"
        log.warning("capture app: %s", message)
        return message

    def _note_ok(self, names) -> None:
        with self._status_lock:
            for name in names:
                self.device_status[name] = "ok"

    # ------------------------------------------------------------ routes

    def status(self) -> dict[str, Any]:
        recorder = self.recorder
        session = recorder.session
        counts = recorder.counts_by_category()
        quotas = [{**asdict(q), "count": counts.get(q.category, 0)}
                  for q in make_quotas(self.total_target, self.quota_shares)]
        try:
            free = int(recorder.disk_guard.free_bytes(recorder.out))
        except OSError:
            free = -1
        devices = []
        for name, camera in recorder.rig.cameras.items():
            try:
                info = camera.info()
                serial, model, kind = info.serial, info.model, info.kind
            except CaptureError:
                serial, model, kind = "", "", camera.kind
            devices.append({"name": name, "kind": kind, "serial": serial, "model": model,
                            "primary": name == recorder.rig.primary, "status": self.device_status[name]})
        last = recorder.captures[-1] if session and recorder.captures else None
        return {
            "session": asdict(session) if session else None,
            "devices": devices,
            "counters": {"session_captures": len(recorder.captures) if session else 0,
                         "session_samples": sum(len(c.keys) for c in recorder.captures) if session else 0,
                         "all_captures": sum(counts.values())},
            "quotas": quotas,
            "disk": {"free_bytes": free, "min_free_bytes": recorder.disk_guard.min_free_bytes,
                     "ok": free >= recorder.disk_guard.min_free_bytes},
            "last": asdict(last) if last else None,
            "error": self.last_error,
        }

    def preview(self, device: str | None = None) -> dict[str, Any]:
        name = device or self.recorder.rig.primary
        if name not in self.recorder.rig.cameras:
            raise KeyError(f"unknown device {name!r}")
        started = time.perf_counter()
        try:
            frame = self.recorder.read_device(name)
        except CaptureError as exc:
            raise CaptureError(f"device {name}: {exc}") from exc
        self._note_ok([name])
        out = {"device": name, "fill_rate": frame.fill_rate(),
               **preview_pictures(frame, self.preview_width),
               "emitter_on": frame.emitter_on, "frame_number": frame.frame_number}
        out["latency_ms"] = (time.perf_counter() - started) * 1000.0
        return out

    def open_session(self, body: dict[str, Any]) -> dict[str, Any]:
        settings = SessionSettings(name=str(body.get("name", "")), operator=str(body.get("operator", "")),
                                   scene_category=str(body.get("scene_category", "office")),
                                   location_note=str(body.get("location_note", "")))
        folder = self.recorder.open_session(settings)
        return {"session": asdict(settings), "folder": str(folder)}

    def capture(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            burst = int(body.get("burst", 1))
        except (TypeError, ValueError):
            raise ValueError(f"burst must be a whole number, got {body.get('burst')!r}") from None
        records = self.recorder.capture(category=body.get("category"), burst=burst)
        self._note_ok(self.recorder.rig.cameras)
        with self._status_lock:
            self.last_error = ""
        return {"captures": [asdict(r) for r in records]}

    def last(self) -> dict[str, Any]:
        recorder = self.recorder
        if recorder.session is None or not recorder.captures:
            return {"last": None}
        record = recorder.captures[-1]
        primary_key = capture_key(recorder.session.name, recorder.rig.primary, record.index)
        if primary_key not in record.keys:
            primary_key = record.keys[0]
        sample = read_sample(sample_dir(recorder.out, primary_key))
        return {"last": asdict(record), "key": primary_key, "fill_rate": sample.stats.get("fill_rate"),
                "mask_ratio": sample.stats.get("mask_ratio"),
                "rgb": jpeg_data_url(thumbnail(sample.rgb, 240)),
                "depth": jpeg_data_url(depth_colormap(thumbnail(sample.depth_raw, 240, nearest=True)))}

    def set_emitter(self, body: dict[str, Any]) -> dict[str, Any]:
        on = body.get("on")
        if not isinstance(on, bool):
            raise ValueError(f"'on' must be true or false, got {on!r}")
        self.recorder.set_emitter(on)
        return {"emitter_on": on}

    def delete_last(self) -> dict[str, Any]:
        record = self.recorder.delete_last()
        return {"deleted": asdict(record) if record else None}


def _handler_class(app: CaptureApp):
    class Handler(BaseHTTPRequestHandler):
        server_version = "depthcur-capture"
        timeout = 30          # seconds a client may take over its request before its thread is freed

        def log_message(self, fmt, *args):  # keep the terminal for progress and errors
            log.debug("http: " + fmt, *args)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in SECURITY_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _call(self, fn, *args) -> None:
            try:
                self._json(HTTPStatus.OK, fn(*args))
            except (SessionNameError, ValueError, KeyError) as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": app._note_error(exc)})
            except DiskSpaceError as exc:
                self._json(HTTPStatus.INSUFFICIENT_STORAGE, {"error": app._note_error(exc)})
            except (CaptureError, SchemaError, OSError) as exc:
                self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": app._note_error(exc)})

        def _static(self, name: str) -> None:
            path = (STATIC_DIR / name).resolve()
            if STATIC_DIR not in path.parents or not path.is_file():
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such file: {name}"})
                return
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            content = path.read_bytes()
            if name == "index.html":   # the page hands its scripts the token of this start
                content = content.replace(TOKEN_PLACEHOLDER, self.server.guard.token.encode())
            self._send(HTTPStatus.OK, content, kind)

        def _refuse(self, refusal: Refused) -> None:
            log.warning("capture app: refused %s %r from %s: %s", self.command, self.path[:200],
                        self.client_address[0], refusal)
            if 0 < self._content_length() <= MAX_BODY:
                self.rfile.read(self._content_length())   # closing on unread bytes would reset the answer away
            self.close_connection = True
            self._json(refusal.status, {"error": str(refusal)})

        def _content_length(self) -> int:
            """The announced body size; -1 when it is not a number."""
            try:
                return int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return -1

        def _check_sender(self) -> None:
            """Raise ``Refused`` unless the request names this server and comes from its own page (or no page)."""
            guard, host, origin = self.server.guard, self.headers.get("Host"), self.headers.get("Origin")
            if len(self.headers.get_all("Host", ())) > 1 or not guard.host_allowed(host):
                raise Refused(HTTPStatus.FORBIDDEN, f"Host {host!r} is not this app's address")
            if origin is not None and not guard.origin_allowed(origin, host):
                raise Refused(HTTPStatus.FORBIDDEN, f"requests from {origin!r} are not accepted")

        def _read_body(self) -> dict[str, Any]:
            """The JSON object a POST sends, once its token is right and its size within ``MAX_BODY``."""
            if not self.server.guard.token_matches(self.headers.get(TOKEN_HEADER)):
                raise Refused(HTTPStatus.FORBIDDEN, f"missing or wrong {TOKEN_HEADER}: reload the app page")
            if self.headers.get("Transfer-Encoding"):
                raise Refused(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
            length = self._content_length()
            if length < 0:
                raise Refused(HTTPStatus.BAD_REQUEST, "bad Content-Length")
            if length > MAX_BODY:
                raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                              f"request body too large ({length} bytes, at most {MAX_BODY})")
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
            except ValueError as exc:
                raise Refused(HTTPStatus.BAD_REQUEST, f"bad JSON body: {exc}") from None
            return body

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            try:
                self._check_sender()
            except Refused as refusal:
                self._refuse(refusal)
                return
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if url.path in ("/", "/index.html"):
                self._static("index.html")
            elif url.path.startswith("/static/"):
                self._static(url.path[len("/static/"):])
            elif url.path == "/api/status":
                self._call(app.status)
            elif url.path == "/api/preview":
                self._call(app.preview, (query.get("device") or [None])[0])
            elif url.path == "/api/last":
                self._call(app.last)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no route {url.path}"})

        def do_POST(self) -> None:  # noqa: N802
            try:
                self._check_sender()
                body = self._read_body()
            except Refused as refusal:
                self._refuse(refusal)
                return
            routes = {"/api/session": app.open_session, "/api/capture": app.capture,
                      "/api/delete_last": lambda _body: app.delete_last(), "/api/emitter": app.set_emitter}
            route = routes.get(urlparse(self.path).path)
            if route is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no route {self.path}"})
            else:
                self._call(route, body)

    return Handler


class AppServer(ThreadingHTTPServer):
    """The app's HTTP server; its handlers check each request against ``guard``."""

    daemon_threads = True
    guard: RequestGuard


def make_server(app: CaptureApp, host: str = "127.0.0.1", port: int = 8080) -> AppServer:
    """A threaded server bound to ``host:port`` (port 0 picks a free one), with a fresh token.

    Raises ``ListenError`` when the address cannot be bound: in use, not this machine's, or no such port.
    """
    try:
        server = AppServer((host, port), _handler_class(app))
    except OverflowError as exc:            # the socket module's "port must be 0-65535"
        raise ListenError(f"cannot listen on {host}:{port}: {exc}") from None
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    server.guard = RequestGuard.for_address(host, server.server_address[:2])
    return server


def serve(app: CaptureApp, host: str = "127.0.0.1", port: int = 8080) -> None:
    server = make_server(app, host, port)
    log.info("capture app on http://%s:%d (Ctrl-C stops)", *server.server_address[:2])
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
