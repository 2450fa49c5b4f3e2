"""The capture app: HTTP API (concurrency, errors) and a real Chromium driving the page."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from depthcur.capture.app import CaptureApp, make_server
from depthcur.capture.app.server import MAX_BODY, TOKEN_HEADER, ListenError, RequestGuard
from depthcur.capture.cameras import DeviceReadError, make_camera
from depthcur.capture.recorder import DiskGuard, Recorder, SessionSettings
from depthcur.capture.rig import Rig, RigConfig
from depthcur.schemas import read_sample, scan_samples, validate_sample, write_sample
from depthcur.synthetic import make_sample

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
DOCS_SHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "capture_app.png"


class FlakyCamera:
    """A replay driver whose reads *inside a capture* fail from the ``fail_at``-th one on (preview reads pass)."""

    def __init__(self, inner):
        self.inner, self.kind = inner, inner.kind
        self.capturing, self.capture_reads, self.fail_at = False, 0, None

    def read(self):
        if self.capturing:
            self.capture_reads += 1
            if self.fail_at is not None and self.capture_reads >= self.fail_at:
                raise DeviceReadError("USB transfer failed (test)")
        return self.inner.read()

    def __getattr__(self, name):
        return getattr(self.inner, name)


class Harness:
    def __init__(self, tmp_path: Path, open_session: bool = True):
        folder = tmp_path / "replay"
        for i in range(3):
            write_sample(folder, make_sample(f"r/{i:03d}", height=120, width=160, seed=i))
        self.camera = FlakyCamera(make_camera(f"replay:{folder}", {"fps": 30}))
        rig = Rig(RigConfig.single(f"replay:{folder}"), {"replay": self.camera})
        rig.connect()
        self.free = {"bytes": 10 ** 12}
        self.recorder = Recorder(tmp_path / "out", rig,
                                 disk_guard=DiskGuard(min_free_bytes=10 ** 9, free_bytes=lambda _p: self.free["bytes"]))
        if open_session:
            self.recorder.open_session(SessionSettings("bench-a", operator="ana", scene_category="office"))
        capture = self.recorder.capture

        def flagged_capture(*args, **kwargs):
            self.camera.capturing, self.camera.capture_reads = True, 0
            try:
                return capture(*args, **kwargs)
            finally:
                self.camera.capturing = False

        self.recorder.capture = flagged_capture
        self.app = CaptureApp(self.recorder, total_target=240)
        self.server = make_server(self.app, "127.0.0.1", 0)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.token = self.page_token()

    def page_token(self) -> str:
        """The token as the page gets it: from the page itself."""
        with urllib.request.urlopen(self.url + "/") as response:
            page = response.read().decode()
        return re.search(r'<meta name="depthcur-token" content="([^"]+)">', page).group(1)

    def raw(self, method: str, path: str, body: bytes = b"", headers: dict | None = None) -> tuple[int, str]:
        """One request exactly as given (http.client sets no Host of its own here)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in {"Host": f"127.0.0.1:{self.port}", "Content-Length": str(len(body)),
                                **(headers or {})}.items():
                if value is not None:
                    connection.putheader(name, value)
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def samples(self) -> list[Path]:
        return scan_samples(self.recorder.out).samples

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", TOKEN_HEADER: self.token})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.recorder.rig.disconnect()


@pytest.fixture
def harness(tmp_path):
    h = Harness(tmp_path)
    yield h
    h.close()


def test_api_two_clients_capturing_at_once_get_distinct_whole_samples(harness):
    results = []
    threads = [threading.Thread(target=lambda: results.append(harness.post("/api/capture",
                                                                            {"category": "gym", "burst": 2})))
               for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [status for status, _ in results] == [200] * 6
    indices = sorted(c["index"] for _, body in results for c in body["captures"])
    assert indices == list(range(12))
    paths = harness.samples()
    assert len(paths) == 12 and len({p.name for p in paths}) == 12
    for path in paths:
        assert validate_sample(read_sample(path)).scene_category == "gym"


def test_api_errors_are_reported_and_nothing_half_written(harness):
    harness.camera.fail_at = 2
    status, body = harness.post("/api/capture", {"category": "office", "burst": 4})
    assert status == 503 and "device replay: USB transfer failed" in body["error"]
    harness.camera.fail_at = None
    harness.free["bytes"] = 10 ** 9 + 10
    status, body = harness.post("/api/capture", {"category": "office"})
    assert status == 507 and "disk nearly full" in body["error"]
    status, body = harness.post("/api/session", {"name": "../../etc"})
    assert status == 400 and "is not allowed" in body["error"]
    status, body = harness.post("/api/capture", {"category": "moon_base"})
    assert status == 400 and "unknown scene category" in body["error"]
    assert harness.samples() == [] and not scan_samples(harness.recorder.out).leftovers
    with urllib.request.urlopen(harness.url + "/api/status") as response:
        status = json.loads(response.read())
    assert "is not allowed" in status["error"] or "unknown scene category" in status["error"]
    assert status["devices"][0]["status"].startswith("error: device replay")
    assert status["disk"]["ok"] is True and status["counters"]["session_captures"] == 0
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(harness.url + "/static/../../recorder.py")


def test_preview_thumbnails_average_fine_detail_instead_of_aliasing_it():
    from depthcur.capture.preview import thumbnail

    checker = np.indices((720, 1280)).sum(axis=0) % 2 * 255    # one-pixel checkerboard: mean grey 127.5
    for image in (checker.astype(np.uint8), np.repeat(checker[..., None], 3, axis=2).astype(np.uint8),
                  (checker * 257).astype(np.uint16)):
        small = thumbnail(image, 480)
        assert small.shape[:2] == (270, 480) and small.dtype == image.dtype
        grey = np.iinfo(image.dtype).max / 2
        assert np.abs(small.astype(float) - grey).max() <= grey * 0.02       # skipping pixels would leave 0/255
    depth = np.where(checker > 0, 2.0, 0.0).astype(np.float32)
    assert set(np.unique(thumbnail(depth, 480, nearest=True))) <= {0.0, 2.0}   # depth: holes stay holes
    assert thumbnail(depth, 1280) is depth                                     # narrow enough: untouched


def test_grey_preview_shows_the_pixels_of_its_rgb_copy():
    """The IR preview is a one-channel JPEG: decoded, it must equal the JPEG of the grey RGB copy it replaces."""
    import base64

    import cv2

    from depthcur.capture.preview import ir_to_grey, jpeg_data_url
    from depthcur.schemas.codecs import encode_rgb

    rng = np.random.default_rng(3)
    ramp = np.add.outer(np.arange(45), np.arange(60)) * 3
    ir16 = (ramp * 100 + rng.integers(0, 400, ramp.shape)).astype(np.uint16)
    grey = ir_to_grey(ir16)
    assert grey.dtype == np.uint8 and grey.shape == ir16.shape
    assert np.abs(grey - ir16 * (255.0 / ir16.max())).max() <= 1.0 + 1e-9        # stretched to 0..255, truncated
    for quality in (50, 80, 95):
        url = jpeg_data_url(grey, quality)
        assert url.startswith("data:image/jpeg;base64,")
        shown = cv2.imdecode(np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)
        rgb_copy = encode_rgb(np.repeat(grey[..., None], 3, axis=2), "jpeg", quality)
        assert np.array_equal(shown, cv2.imdecode(np.frombuffer(rgb_copy, np.uint8), cv2.IMREAD_COLOR))
        assert np.abs(shown[..., 0].astype(int) - grey).mean() < 4                # and it is the picture


def test_requests_not_from_the_apps_own_page_are_refused(harness):
    capture = json.dumps({"category": "office"}).encode()
    own = {"Content-Type": "application/json", TOKEN_HEADER: harness.token}
    refused = {
        # DNS rebinding: the attacker's name resolves to 127.0.0.1, the browser sends it in Host
        "rebinding page": ("GET", "/", b"", {"Host": f"attacker.example:{harness.port}"}),
        "rebinding capture": ("POST", "/api/capture", capture, {**own, "Host": f"attacker.example:{harness.port}"}),
        "other port in Host": ("GET", "/api/status", b"", {"Host": f"127.0.0.1:{harness.port + 1}"}),
        "no Host": ("GET", "/api/status", b"", {"Host": None}),
        "user in Host": ("GET", "/", b"", {"Host": f"attacker.example@127.0.0.1:{harness.port}"}),
        # cross-site request forgery: another page's fetch or form names its own origin
        "foreign origin": ("POST", "/api/capture", capture, {**own, "Origin": "http://attacker.example"}),
        "other local port": ("POST", "/api/capture", capture, {**own, "Origin": f"http://127.0.0.1:{harness.port + 1}"}),
        "opaque origin": ("POST", "/api/delete_last", b"{}", {**own, "Origin": "null"}),
        "foreign origin reading": ("GET", "/api/preview", b"", {"Origin": "http://attacker.example"}),
        "no token": ("POST", "/api/capture", capture, {"Content-Type": "application/json"}),
        "wrong token": ("POST", "/api/capture", capture, {**own, TOKEN_HEADER: harness.token[:-1] + "x"}),
    }
    for name, (method, path, body, headers) in refused.items():
        status, text = harness.raw(method, path, body, headers)
        assert status == 403, name
        assert harness.token not in text, name
    assert "not this app's address" in harness.raw("GET", "/", headers={"Host": "attacker.example"})[1]
    # a token of an earlier start of the app is no use either
    assert RequestGuard.for_address("127.0.0.1", ("127.0.0.1", harness.port)).token != harness.token

    # the body limit is checked before the body is read: an announced size is enough
    status, text = harness.raw("POST", "/api/capture", headers={**own, "Content-Length": str(MAX_BODY + 1)})
    assert status == 413 and "too large" in text
    status, _ = harness.raw("POST", "/api/capture", b"{}", {**own, "Content-Length": "-5"})
    assert status == 400
    assert harness.samples() == []

    # the app's own page, under any of the loopback names, gets through
    for name in ("127.0.0.1", "localhost"):
        origin = f"{name}:{harness.port}"
        status, text = harness.raw("POST", "/api/capture", capture,
                                   {**own, "Host": origin, "Origin": f"http://{origin}"})
        assert status == 200, text
    assert len(harness.samples()) == 2
    status, _ = harness.raw("POST", "/api/delete_last", b"", own)        # no body, no Origin: a script
    assert status == 200 and len(harness.samples()) == 1
    with urllib.request.urlopen(harness.url + "/") as response:
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_request_guard_names_the_bound_address_only():
    loopback = RequestGuard.for_address("127.0.0.1", ("127.0.0.1", 8080))
    assert all(loopback.host_allowed(h) for h in ("127.0.0.1:8080", "localhost:8080", "LOCALHOST:8080", "[::1]:8080"))
    assert not any(loopback.host_allowed(h) for h in ("127.0.0.1", "127.0.0.1:8081", "10.0.0.5:8080",
                                                      "evil.test:8080", "127.0.0.1:8080/x", "127.0.0.1:80a80", ""))
    lan = RequestGuard.for_address("192.168.1.20", ("192.168.1.20", 80))
    assert lan.host_allowed("192.168.1.20") and lan.host_allowed("192.168.1.20:80")
    assert not lan.host_allowed("localhost") and not lan.host_allowed("evil.test")
    # on every interface any IP address may be the one used, but no domain name other than this machine's
    every = RequestGuard.for_address("0.0.0.0", ("0.0.0.0", 8080))
    assert every.host_allowed("10.1.2.3:8080") and every.host_allowed("[fe80::1]:8080")
    assert not every.host_allowed("rebind.evil.test:8080") and not every.host_allowed("10.1.2.3:9090")
    assert loopback.origin_allowed("http://localhost:8080", "localhost:8080")
    assert not loopback.origin_allowed("https://localhost:8080", "localhost:8080")
    assert not loopback.origin_allowed("http://127.0.0.1:8080", "localhost:8080")


def test_an_address_that_cannot_be_bound_is_one_clear_error(harness, tmp_path):
    from typer.testing import CliRunner

    from depthcur.cli import app

    with pytest.raises(ListenError, match=f"cannot listen on 127.0.0.1:{harness.port}: .*in use"):
        make_server(harness.app, "127.0.0.1", harness.port)
    with pytest.raises(ListenError, match="cannot listen on 127.0.0.1:70000: .*0-65535"):
        make_server(harness.app, "127.0.0.1", 70000)
    replay = harness.recorder.rig.config.devices[harness.recorder.rig.primary].spec
    for host, port, message in (("127.0.0.1", harness.port, "in use"),
                                ("192.0.2.1", 8080, "cannot listen on 192.0.2.1:8080"),   # TEST-NET: not ours
                                ("127.0.0.1", 70000, "70000 is out of range")):
        result = CliRunner().invoke(app, ["capture", "app", "--device", replay, "--out", str(tmp_path / "cli"),
                                          "--host", host, "--port", str(port), "--min-free-mb", "0"])
        assert result.exit_code == 2, result.output
        assert result.output.startswith("depthcur capture app: ") and message in result.output
        assert "Traceback" not in result.output


ATTACKER_PAGE = """<!doctype html><html><body>
<form id="forge" method="POST" enctype="text/plain" action="{app}/api/capture">
<input type="hidden" name='{{"category": "office", "pad": "' value='"}}'></form></body></html>"""


def serve_attacker_page(app_url: str) -> http.server.ThreadingHTTPServer:
    """Another web page on this machine (another loopback port, so another origin)."""
    page = ATTACKER_PAGE.format(app=app_url).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.browser
def test_browser_page_of_another_origin_cannot_capture_or_read(tmp_path, caplog):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (setup installs it: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    harness = Harness(tmp_path)          # a session is open: a forged capture would be written
    attacker = serve_attacker_page(harness.url)
    attacker_url = "http://127.0.0.1:%d/" % attacker.server_address[1]
    try:
        with sync_api.sync_playwright() as pw:
            # rebind.test resolves to 127.0.0.1, as an attacker's domain does after DNS rebinding
            browser = pw.chromium.launch(executable_path=CHROMIUM,
                                         args=CHROMIUM_ARGS + ["--host-resolver-rules=MAP rebind.test 127.0.0.1"])
            page = browser.new_page()
            page.goto(attacker_url)
            body = json.dumps({"category": "office", "burst": 3})
            # a "simple" request needs no preflight, so it reaches the app: the Origin check refuses it
            # (and Cross-Origin-Resource-Policy keeps even the opaque answer from the page)
            outcome = page.evaluate("""([url, body]) => fetch(url, {method: 'POST', mode: 'no-cors', body})
                .then(r => 'answered', e => 'blocked')""", [harness.url + "/api/capture", body])
            assert outcome == "blocked"
            # with the app's headers the browser asks first and the app grants nothing
            outcome = page.evaluate("""([url, body]) => fetch(url, {method: 'POST', body,
                headers: {'Content-Type': 'application/json', 'X-Depthcur-Token': 'guessed'}})
                .then(r => 'status ' + r.status, e => 'blocked')""", [harness.url + "/api/capture", body])
            assert outcome == "blocked"
            outcome = page.evaluate("url => fetch(url).then(r => r.text(), e => 'blocked')",
                                    harness.url + "/api/status")
            assert outcome == "blocked"
            # the classic forged form, its body shaped as JSON: refused, and the page says why
            with page.expect_navigation():
                page.evaluate("document.getElementById('forge').submit()")
            assert "are not accepted" in page.content()
            # DNS rebinding: the attacker's name, the app's address: not even the page (and its token) is served
            response = page.goto("http://rebind.test:%d/" % harness.port)
            assert response.status == 403 and harness.token not in page.content()
            browser.close()
    finally:
        attacker.shutdown(), attacker.server_close()
        harness.close()
    assert harness.samples() == []
    refusals = [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]
    assert sum(f"'{attacker_url[:-1]}' are not accepted" in m for m in refusals) >= 2   # the fetch and the form
    assert any("Host 'rebind.test" in m for m in refusals)


@pytest.mark.browser
def test_browser_drives_the_app_end_to_end(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (setup installs it: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    harness = Harness(tmp_path, open_session=False)
    outside_requests = []
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("request", lambda r: None if r.url.startswith(harness.url) or r.url.startswith("data:")
                    else outside_requests.append(r.url))
            page.goto(harness.url)
            expect = sync_api.expect

            # an unsafe session name is refused and shown
            page.fill("#session-name", "../../etc")
            page.click("#start-session")
            expect(page.locator("#error-text")).to_contain_text("is not allowed")
            page.fill("#session-name", "lab-3")
            page.fill("#operator", "ana")
            page.fill("#location", "building B, room 2.14")
            page.click("#start-session")
            expect(page.locator("#session-label")).to_contain_text("lab-3")
            expect(page.locator("#error")).to_be_hidden()

            # live preview arrives, pick a category, capture
            page.wait_for_function("document.getElementById('view-depth').src.startsWith('data:image/jpeg')")
            expect(page.locator("#fill-rate")).to_contain_text("%")
            expect(page.locator("#emitter")).to_contain_text("Emitter: on")
            page.click("#emitter")
            expect(page.locator("#emitter")).to_contain_text("Emitter: off")
            page.click("#emitter")
            expect(page.locator("#emitter")).to_contain_text("Emitter: on")
            page.click("button.category[data-category='museum']")
            expect(page.locator("button.category.selected")).to_contain_text("Museum")
            page.click("#capture")
            expect(page.locator("#last-info")).to_contain_text("#0 museum")
            expect(page.locator("#counters")).to_contain_text("Session: 1 captures")
            samples = harness.samples()
            assert len(samples) == 1
            sample = validate_sample(read_sample(samples[0]))
            assert sample.scene_category == "museum" and sample.key == "lab-3/replay/000000"
            expect(page.locator("button.category[data-category='museum'] .count")).to_contain_text("1 / 10")
            page.wait_for_timeout(400)   # one more preview frame
            shot = tmp_path / "capture_app.png"
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shot), full_page=True)
            if os.environ.get("DEPTHCUR_UPDATE_DOC_IMAGES"):  # refresh the README picture on request only
                shutil.copyfile(shot, DOCS_SHOT)

            # the device fails in the middle of a burst: error shown, nothing new on disk
            harness.camera.fail_at = 3
            page.select_option("#burst-size", "5")
            page.click("#burst")
            expect(page.locator("#error-text")).to_contain_text("device replay: USB transfer failed")
            assert len(harness.samples()) == 1 and not scan_samples(harness.recorder.out).leftovers
            page.screenshot(path=str(tmp_path / "capture_app_error.png"))
            harness.camera.fail_at = None

            # disk nearly full: refused with a message
            harness.free["bytes"] = 10 ** 8
            page.click("#capture")
            expect(page.locator("#error-text")).to_contain_text("disk nearly full")
            harness.free["bytes"] = 10 ** 12

            # a good burst, then review and delete the last capture
            page.click("#burst")
            expect(page.locator("#last-info")).to_contain_text("#5 museum")
            page.click("#delete-last")
            expect(page.locator("#last-info")).to_contain_text("#4 museum")
            assert len(harness.samples()) == 5
            browser.close()
    finally:
        harness.close()
    assert outside_requests == []      # offline: every asset came from the app itself


def test_preview_width_sets_the_size_of_the_preview_pictures(harness):
    """--preview-width: RGB and depth pictures at most that wide, IR at half, aspect kept; the default is 480."""
    import base64

    import cv2

    from depthcur.capture.app import CaptureApp

    def widths(app):
        out = app.preview()
        shapes = {name: cv2.imdecode(np.frombuffer(base64.b64decode(out[name].split(",", 1)[1]), np.uint8),
                                     cv2.IMREAD_UNCHANGED).shape for name in ("rgb", "depth", "ir")}
        return {name: (shape[1], shape[0]) for name, shape in shapes.items()}

    frame = harness.recorder.read_device(harness.recorder.rig.primary)
    height, width = frame.rgb.shape[:2]
    for preview_width in (None, width // 2, 5 * width):
        app = harness.app if preview_width is None else CaptureApp(harness.recorder, preview_width=preview_width)
        asked = 480 if preview_width is None else preview_width
        shown, ir_shown = min(asked, width), min(asked // 2, width)
        got = widths(app)
        assert got["rgb"] == got["depth"] == (shown, round(height * shown / width))
        assert got["ir"] == (ir_shown, round(height * ir_shown / width))
