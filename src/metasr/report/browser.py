"""Open an HTML file in headless Chromium and report what a reader would see.

Driven over the DevTools protocol (a websocket; `websocket-client`), so that console errors,
uncaught exceptions and failed loads are captured with their level, not scraped from logs.
The browser runs with a fresh, empty profile, no network services, and is killed by its own PID.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TILE_PX = 12000
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-allow-origins=*"]

# Evaluated in the page once it has loaded: the facts the tests check.
PAGE_FACTS_JS = """(() => {
  const imgs = Array.from(document.querySelectorAll('figure[data-figure] img'));
  return JSON.stringify({
    title: document.title,
    sections: Array.from(document.querySelectorAll('section[id]')).map(s => s.id),
    outcomes: Array.from(document.querySelectorAll('section[data-outcome]'))
                   .map(s => s.dataset.outcome),
    figures: imgs.map(i => ({key: i.closest('figure').dataset.figure, complete: i.complete,
                             width: i.naturalWidth, height: i.naturalHeight})),
    scripts: document.scripts.length,
    height: document.documentElement.scrollHeight,
  });
})()"""


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        path = shutil.which(candidate) if not os.path.isabs(candidate) else (
            candidate if os.access(candidate, os.X_OK) else None)
        if path:
            return path
    return None


@dataclass
class PageReport:
    errors: list[str] = field(default_factory=list)  # console errors, exceptions, failed loads
    facts: dict = field(default_factory=dict)
    screenshot: Path | None = None  # the first tile (top of the page)
    screenshots: list[Path] = field(default_factory=list)


class _DevTools:
    def __init__(self, ws_url: str, timeout: float):
        import websocket  # websocket-client; imported here so the report itself never needs it

        self.timeout = timeout
        self.ws = websocket.create_connection(ws_url, timeout=timeout, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if any(e.get("method") == event for e in self.events):
            return True
        while time.monotonic() < deadline:
            try:
                message = json.loads(self.ws.recv())
            except Exception:  # timeout of one recv: keep waiting until the deadline
                continue
            self.events.append(message)
            if message.get("method") == event:
                return True
        return False

    def drain(self, seconds: float) -> None:
        """Collect events that arrive shortly after load (late console messages)."""
        self.ws.settimeout(seconds)
        try:
            while True:
                self.events.append(json.loads(self.ws.recv()))
        except Exception:
            pass
        finally:
            self.ws.settimeout(self.timeout)

    def close(self):
        self.ws.close()


def _errors(events: list[dict]) -> list[str]:
    errors = []
    for e in events:
        method, params = e.get("method"), e.get("params") or {}
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails") or {}
            text = (details.get("exception") or {}).get("description") or details.get("text")
            errors.append(f"exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in {"error", "assert"}:
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in
                            params.get("args") or [])
            errors.append(f"console.{params['type']}: {args}")
        elif method == "Log.entryAdded" and (params.get("entry") or {}).get("level") == "error":
            entry = params["entry"]
            errors.append(f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.loadingFailed":
            errors.append(f"load failed: {params.get('errorText')}")
    return errors


def _launch(chromium: str, profile: str, timeout: float) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={profile}",
                             "--remote-debugging-port=0", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_file.is_file() and port_file.read_text().strip():
            return proc, int(port_file.read_text().split()[0])
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("Chromium did not open its DevTools port")


def inspect_page(html_path, screenshot_path=None, chromium: str | None = None,
                 width: int = 1280, height: int = 900, timeout: float = 60.0) -> PageReport:
    """Load `html_path` in headless Chromium; return console errors, page facts, a screenshot."""
    chromium = chromium or find_chromium()
    if not chromium:
        raise FileNotFoundError("Chromium not found")
    profile = tempfile.mkdtemp(prefix="metasr-chromium-")
    proc = None
    try:
        proc, port = _launch(chromium, profile, timeout)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            pages = [t for t in json.load(r) if t.get("type") == "page"]
        tools = _DevTools(pages[0]["webSocketDebuggerUrl"], timeout)
        try:
            for domain in ("Runtime", "Log", "Network", "Page"):
                tools.call(f"{domain}.enable")
            tools.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                       deviceScaleFactor=1, mobile=False)
            tools.call("Page.navigate", url=Path(html_path).resolve().as_uri())
            if not tools.wait_for("Page.loadEventFired", timeout):
                raise TimeoutError(f"{html_path} did not finish loading in {timeout} s")
            tools.drain(0.5)
            result = tools.call("Runtime.evaluate", expression=PAGE_FACTS_JS, returnByValue=True)
            report = PageReport(errors=_errors(tools.events),
                                facts=json.loads(result["result"]["value"]))
            if screenshot_path:  # the whole page, in tiles below Chromium's texture size limit
                total = int(report.facts.get("height") or height)
                for n, top in enumerate(range(0, total, TILE_PX)):
                    shot = tools.call("Page.captureScreenshot", format="png",
                                      captureBeyondViewport=True,
                                      clip={"x": 0, "y": top, "width": width,
                                            "height": min(TILE_PX, total - top), "scale": 1})
                    path = Path(screenshot_path)
                    if n:
                        path = path.with_name(f"{path.stem}-{n + 1}{path.suffix}")
                    path.write_bytes(base64.b64decode(shot["data"]))
                    report.screenshots.append(path)
                report.screenshot = report.screenshots[0]
            return report
        finally:
            tools.close()
    finally:
        if proc is not None:
            proc.kill()  # only the browser this function started
            proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
