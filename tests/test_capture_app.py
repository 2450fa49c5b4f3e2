"""The capture app: HTTP API (concurrency, errors) and a real Chromium driving the page."""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from depthcur.capture.app import CaptureApp, make_server
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
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def samples(self) -> list[Path]:
        return scan_samples(self.recorder.out).samples

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(self.url + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
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
