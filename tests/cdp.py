"""A small Chrome DevTools Protocol driver for tests: headless Chromium, one page, no network.

Starts the system's Chromium (``--headless=new``, a throw-away profile, background networking,
component updates and sync off), reads the DevTools port Chromium writes to ``DevToolsActivePort`` in
that profile, and speaks CDP to the page over a loopback WebSocket (``websocket-client``, a runtime
dependency already). It records console errors, uncaught exceptions and every request the page makes,
so a test can assert that a page made no error and loaded nothing but itself.

Only for tests (a page the test wrote, opened by ``file://``); not part of the package.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import websocket

__all__ = ["find_chromium", "Chromium", "CdpError"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """The browser to drive: ``$LIGHTER_TEST_CHROMIUM`` or the first of chromium/chrome on ``PATH``."""
    env = os.environ.get("LIGHTER_TEST_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in _NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class CdpError(RuntimeError):
    """The browser failed to start, answered with an error, or did not answer in time."""


class Chromium:
    """``with Chromium(binary, profile_dir) as page: page.navigate(url); page.evaluate(js)``."""

    def __init__(self, binary: str, profile_dir: Path, *, width: int = 1400, height: int = 1000,
                 timeout: float = 30.0) -> None:
        self.binary = binary
        self.profile = Path(profile_dir)
        self.width, self.height = width, height
        self.timeout = timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.ws: websocket.WebSocket | None = None
        self._id = 0
        self.events: list[dict[str, Any]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Chromium:
        self.profile.mkdir(parents=True, exist_ok=True)
        log = (self.profile / "chromium-stderr.log").open("wb")
        args = [self.binary, "--headless=new", "--remote-debugging-port=0", f"--user-data-dir={self.profile}",
                "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-extensions", "--disable-default-apps", "--disable-breakpad",
                "--disable-features=Translate,MediaRouter,OptimizationHints", "--metrics-recording-only",
                "--mute-audio", f"--window-size={self.width},{self.height}", "about:blank"]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        try:
            self._connect()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ws is not None:
            try:
                self.ws.close()
            except OSError:
                pass
            self.ws = None
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None

    def _connect(self) -> None:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while not port_file.exists() or not port_file.read_text().strip():
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise CdpError(f"chromium exited with {self.proc.returncode}: {self._stderr_tail()}")
            if time.monotonic() > deadline:
                raise CdpError(f"chromium did not open its DevTools port: {self._stderr_tail()}")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=self.timeout) as resp:
            targets = json.loads(resp.read())
        page = next((t for t in targets if t.get("type") == "page"), None)
        if page is None:
            raise CdpError(f"no page target among {targets!r}")
        # suppress_origin: Chromium refuses DevTools connections that carry a foreign Origin header
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=self.timeout,
                                              suppress_origin=True)
        for domain in ("Runtime", "Log", "Network", "Page"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})

    def _stderr_tail(self) -> str:
        path = self.profile / "chromium-stderr.log"
        return path.read_text(errors="replace")[-800:] if path.exists() else ""

    # -- protocol ----------------------------------------------------------------------------

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Call ``method`` and return its result; events arriving meanwhile go to :attr:`events`."""
        assert self.ws is not None, "not started"
        self._id += 1
        ident = self._id
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._receive(deadline, method)
            if msg.get("id") == ident:
                if "error" in msg:
                    raise CdpError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def _receive(self, deadline: float, waiting_for: str) -> dict[str, Any]:
        assert self.ws is not None
        left = deadline - time.monotonic()
        if left <= 0:
            raise CdpError(f"no answer to {waiting_for} within {self.timeout}s")
        self.ws.settimeout(left)
        try:
            msg = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            raise CdpError(f"no answer to {waiting_for} within {self.timeout}s") from None
        if "method" in msg:
            self.events.append(msg)
        return msg

    def wait_event(self, method: str, *, seen: int = 0) -> dict[str, Any]:
        """The first event ``method`` after the first ``seen`` recorded events (waits for it)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for ev in self.events[seen:]:
                if ev["method"] == method:
                    return ev
            seen = len(self.events)
            self._receive(deadline, method)

    # -- page --------------------------------------------------------------------------------

    def navigate(self, url: str) -> None:
        """Open ``url`` and wait for its load event."""
        seen = len(self.events)
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CdpError(f"navigate {url}: {result['errorText']}")
        self.wait_event("Page.loadEventFired", seen=seen)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` in the page (promises awaited)."""
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise CdpError(f"evaluate failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def until(self, expression: str, *, what: str = "", timeout: float | None = None) -> Any:
        """Evaluate ``expression`` until it is truthy; return that value (a poll, not a sleep)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        value = self.evaluate(expression)
        while not value:
            if time.monotonic() > deadline:
                raise CdpError(f"page condition not met: {what or expression}")
            time.sleep(0.05)
            value = self.evaluate(expression)
        return value

    def screenshot(self, path: Path) -> Path:
        """A PNG of the whole page (beyond the viewport) at ``path``."""
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": self.width, "height": min(int(size["height"]) + 1, 8000), "scale": 1}
        res = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
        path.write_bytes(base64.b64decode(res["data"]))
        return path

    # -- what the page did ---------------------------------------------------------------------

    def console_errors(self) -> list[str]:
        """Console ``error`` calls, uncaught exceptions and browser log errors, as text."""
        self._drain()
        out = []
        for ev in self.events:
            p = ev.get("params", {})
            if ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif ev["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append(str(d.get("exception", {}).get("description") or d.get("text")))
            elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"{p['entry'].get('source')}: {p['entry'].get('text')} {p['entry'].get('url', '')}")
        return out

    def requested_urls(self) -> list[str]:
        """Every URL the page asked the network stack for (its own file included)."""
        self._drain()
        return [ev["params"]["request"]["url"] for ev in self.events if ev["method"] == "Network.requestWillBeSent"]

    def _drain(self) -> None:
        """Collect the events already sent (a cheap round trip flushes them)."""
        self.send("Runtime.evaluate", {"expression": "0"})

