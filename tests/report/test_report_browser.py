"""The planner's report in a real browser (headless Chromium over the DevTools Protocol).

Chromium is driven through ``--remote-debugging-pipe`` (CDP messages on file descriptors 3 and 4,
NUL-separated JSON), so no port, websocket library or driver is needed. The page must load with
no console error and no network request other than its own file and embedded ``data:`` images,
and its key numbers must equal what MLflow holds for the run. A screenshot is saved under
``tmp_path``.

Chromium is installed by ``tests/setup_system.sh`` (run here too when it is missing); the test
is skipped only when no Chromium can be found after that.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from targeting.cli.main import main
from targeting.config.experiment import resolve_relative_dates
from tests.helpers import REPO

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-pipe",
]
KEY_IDS = ["headline-estimate", "plan-visits", "plan-expected-finds", "champion", "run-id"]


def _find_browser() -> str | None:
    explicit = os.environ.get("TARGETING_CHROMIUM")
    if explicit and Path(explicit).exists():
        return explicit
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser_path() -> str:
    """The Chromium binary; installs it with tests/setup_system.sh when missing."""
    found = _find_browser()
    if found is None:
        subprocess.run(["sh", str(REPO / "tests" / "setup_system.sh")], check=False, timeout=900)
        found = _find_browser()
    if found is None:
        pytest.skip(
            "no Chromium found (tests/setup_system.sh installs it as root with apt-get; "
            "or set TARGETING_CHROMIUM to a Chromium binary)"
        )
    return found


class PipeBrowser:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``."""

    def __init__(self, binary: str, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="targeting-chromium-")
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()

        def _wire() -> None:  # in the child: CDP reads fd 3, writes fd 4 (inheritable copies)
            os.dup2(to_child_r, 103)
            os.dup2(from_child_w, 104)
            os.dup2(103, 3)
            os.dup2(104, 4)

        self.process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_wire,
            close_fds=False,  # only inheritable fds (3 and 4 here) survive exec
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _drain_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in iter(self.process.stderr.readline, b""):
            self.stderr_lines.append(line.decode(errors="replace").rstrip())

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_child_r, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._lock:
                        self._replies[message["id"]] = message
                        self._lock.notify_all()
                else:
                    self.events.put(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and wait (bounded) for its reply."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child_w, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        with self._lock:
            while self._next_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.process.poll() is not None:
                    raise TimeoutError(
                        f"no CDP reply to {method} (browser stderr: {self.stderr_lines[-5:]})"
                    )
                self._lock.wait(min(left, 0.5))
            reply = self._replies.pop(self._next_id)
        if "error" in reply:
            raise RuntimeError(f"CDP {method} failed: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, seen: list[dict], timeout: float | None = None) -> dict:
        """Wait (bounded) for an event; every event received meanwhile is appended to ``seen``."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(event)
            if event.get("method") == method:
                return event
        raise TimeoutError(f"no {method} event within the timeout")

    def drain(self, seen: list[dict], quiet: float = 0.5) -> None:
        """Collect the events that arrive until ``quiet`` seconds pass without one."""
        while True:
            try:
                seen.append(self.events.get(timeout=quiet))
            except queue.Empty:
                return

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for fd in (self._to_child_w, self._from_child_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


def _open_page(browser: PipeBrowser, path: Path, screenshot: Path) -> dict[str, Any]:
    """Load a local HTML file; return events, the key elements and the page height."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"
    ]
    for domain in ("Page", "Network", "Runtime", "Log"):
        browser.send(f"{domain}.enable", session=session)
    browser.send(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1100, "height": 1400, "deviceScaleFactor": 1, "mobile": False},
        session=session,
    )
    events: list[dict] = []
    browser.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
    browser.wait_event("Page.loadEventFired", events)
    browser.drain(events)
    ids = json.dumps([*KEY_IDS, "p-goal-baseline", "plan-operator-days", "data-vintage"])
    script = (
        f"JSON.stringify(Object.fromEntries({ids}.map(id => {{"
        "const el = document.getElementById(id);"
        " return [id, el ? {text: el.textContent, value: el.dataset.value ?? null} : null];})))"
    )
    found = browser.send(
        "Runtime.evaluate", {"expression": script, "returnByValue": True}, session=session
    )
    elements = json.loads(found["result"]["value"])
    images = browser.send(
        "Runtime.evaluate",
        {
            "expression": "Array.from(document.images).map(i => [i.id, i.naturalWidth])",
            "returnByValue": True,
        },
        session=session,
    )["result"]["value"]
    shot = browser.send(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True},
        session=session,
    )
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    browser.drain(events, quiet=0.2)
    browser.send("Target.closeTarget", {"targetId": target})
    return {"events": events, "elements": elements, "images": images}


def _number(text: str, lang: str) -> float:
    """Parse a displayed number (id: 1.234,5; en: 1,234.5)."""
    if lang == "id":
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    return float(text)


def _problems(events: list[dict]) -> tuple[list[str], list[str]]:
    """Console errors/warnings and non-local requests among the page's events."""
    console, requests = [], []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "warning"}:
            console.append(json.dumps(params.get("args"))[:300])
        elif method == "Runtime.exceptionThrown":
            console.append(json.dumps(params.get("exceptionDetails"))[:300])
        elif method == "Log.entryAdded" and params["entry"].get("level") in {"error", "warning"}:
            console.append(params["entry"].get("text", "")[:300])
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("file:", "data:", "about:")):
                requests.append(url)
    return console, requests


@pytest.fixture(scope="module")
def rendered(small_cycle: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The report written by `targeting run` (id) and one re-rendered from MLflow (en)."""
    folder = tmp_path_factory.mktemp("report")
    english = folder / "report_en.html"
    with contextlib.redirect_stdout(None):
        code = main(
            [
                "report",
                small_cycle["run_id"],
                "--lang",
                "en",
                "--output",
                str(english),
                "--tracking-uri",
                small_cycle["uri"],
                "--state",
                str(small_cycle["out"]),
            ]
        )
    assert code == 0
    return {"id": small_cycle["out"] / "report_id.html", "en": english}


def test_report_html_is_self_contained(rendered: dict[str, Path]) -> None:
    for path in rendered.values():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(https?|wss?|ftp):", text), "external reference in the report"
        assert "<script" not in text and "@import" not in text and "url(" not in text
        assert text.count("src='data:image/png;base64,") >= 2  # fan chart + calibration
        for element_id in KEY_IDS:
            assert f"id='{element_id}'" in text


def test_report_in_headless_chromium(
    browser_path: str, rendered: dict[str, Path], small_cycle: dict, tmp_path: Path
) -> None:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=small_cycle["uri"], registry_uri=small_cycle["uri"])
    run = client.get_run(small_cycle["run_id"])
    metrics, tags = run.data.metrics, run.data.tags
    scenario_runs = client.search_runs(
        [run.info.experiment_id],
        filter_string=f"tags.kind = 'scenario' and tags.mlflow.parentRunId = '{run.info.run_id}'",
    )
    p_goal = {r.data.tags["scenario"]: r.data.metrics["p_goal"] for r in scenario_runs}
    champion_version = client.get_model_version_by_alias(
        f"{small_cycle['experiment']}-pmt", "champion"
    )

    browser = PipeBrowser(browser_path)
    try:
        pages = {
            lang: _open_page(browser, path, tmp_path / f"report_{lang}.png")
            for lang, path in rendered.items()
        }
    finally:
        browser.close()
    assert browser.process.returncode is not None

    for lang, page in pages.items():
        console, requests = _problems(page["events"])
        assert console == [], f"console messages in the {lang} report: {console}"
        assert requests == [], f"network requests from the {lang} report: {requests}"
        assert page["images"] and all(width > 0 for _, width in page["images"])
        el = page["elements"]
        assert all(el[i] is not None for i in KEY_IDS), el
        assert el["run-id"]["text"] == run.info.run_id
        assert el["champion"]["text"] == tags["champion"]
        assert champion_version.run_id == run.info.run_id
        assert champion_version.tags.get("model", tags["champion"]) == tags["champion"]
        assert float(el["headline-estimate"]["value"]) == pytest.approx(
            metrics["report_headline_estimate"], rel=1e-9
        )
        assert _number(el["headline-estimate"]["text"], lang) == round(
            metrics["report_headline_estimate"]
        )
        assert _number(el["plan-visits"]["text"], lang) == metrics["planned"]
        assert float(el["plan-visits"]["value"]) == metrics["plan_households_planned"]
        assert float(el["plan-expected-finds"]["value"]) == pytest.approx(
            metrics["plan_expected_finds"], rel=1e-9
        )
        assert _number(el["plan-expected-finds"]["text"], lang) == round(
            metrics["plan_expected_finds"]
        )
        assert float(el["plan-operator-days"]["value"]) == metrics["plan_operator_days"]
        assert float(el["p-goal-baseline"]["value"]) == pytest.approx(p_goal["baseline"])
        # the spec's vintage may be "auto": the report shows the month it resolved to
        raw = resolve_relative_dates(copy.deepcopy(small_cycle["spec"]))
        assert el["data-vintage"]["text"] == str(raw["data"]["vintage"])
        shot = tmp_path / f"report_{lang}.png"
        assert shot.stat().st_size > 50_000
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
