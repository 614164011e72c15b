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
  const svgs = Array.from(document.querySelectorAll('figure[data-figure] > svg'));
  return JSON.stringify({
    title: document.title,
    sections: Array.from(document.querySelectorAll('section[id]')).map(s => s.id),
    outcomes: Array.from(document.querySelectorAll('section[data-outcome]'))
                   .map(s => s.dataset.outcome),
    figures: imgs.map(i => ({key: i.closest('figure').dataset.figure, complete: i.complete,
                             width: i.naturalWidth, height: i.naturalHeight})).concat(
             svgs.map(s => ({key: s.closest('figure').dataset.figure, complete: true,
                             width: s.getBoundingClientRect().width,
                             height: s.getBoundingClientRect().height}))),
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


class BrowserPage:
    """One page in a headless Chromium of its own, to drive as a reader would: click, type, read
    back, screenshot. Use as a context manager; the browser is killed by its PID on exit.

    `errors()` are console errors, exceptions and failed loads; `requests()` every URL the page
    asked for (the report itself, data: and blob: URLs included)."""

    def __init__(self, chromium: str | None = None, width: int = 1280, height: int = 900,
                 timeout: float = 60.0, downloads=None, mobile: bool = False):
        found = chromium or find_chromium()
        if not found:
            raise FileNotFoundError("Chromium not found")
        self.chromium: str = found
        self.width, self.height, self.timeout = width, height, timeout
        self.downloads, self.mobile = downloads, mobile
        self.profile = tempfile.mkdtemp(prefix="metasr-chromium-")
        self.proc: subprocess.Popen | None = None
        self._tools: _DevTools | None = None

    @property
    def tools(self) -> _DevTools:
        """The DevTools connection of the page, open between __enter__ and __exit__."""
        if self._tools is None:
            raise RuntimeError("the browser is not running: use BrowserPage as a context manager")
        return self._tools

    def __enter__(self) -> BrowserPage:
        try:
            self.proc, port = _launch(self.chromium, self.profile, self.timeout)
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
                pages = [t for t in json.load(r) if t.get("type") == "page"]
            self._tools = _DevTools(pages[0]["webSocketDebuggerUrl"], self.timeout)
            for domain in ("Runtime", "Log", "Network", "Page"):
                self.tools.call(f"{domain}.enable")
            self.tools.call("Emulation.setDeviceMetricsOverride", width=self.width,
                            height=self.height, deviceScaleFactor=1, mobile=self.mobile)
            if self.downloads:
                self.tools.call("Page.setDownloadBehavior", behavior="allow",
                                downloadPath=str(Path(self.downloads).resolve()))
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self._tools is not None:
            self._tools.close()
        if self.proc is not None:
            self.proc.kill()  # only the browser this object started
            self.proc.wait(timeout=10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def open(self, html_path) -> None:
        self.tools.call("Page.navigate", url=Path(html_path).resolve().as_uri())
        if not self.tools.wait_for("Page.loadEventFired", self.timeout):
            raise TimeoutError(f"{html_path} did not finish loading in {self.timeout} s")
        self.tools.drain(0.5)

    def evaluate(self, expression: str):
        result = self.tools.call("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def click(self, selector: str) -> None:
        """A real mouse click at the middle of the element (scrolled into view first)."""
        box = self.evaluate(f"""(() => {{ const e = document.querySelector({json.dumps(selector)});
            if (!e) return null; e.scrollIntoView({{block: "center"}});
            const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()""")
        if box is None:
            raise LookupError(f"no element {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.tools.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                            button="left" if kind != "mouseMoved" else "none", clickCount=1)
        self.tools.drain(0.2)

    def type(self, selector: str, text: str) -> None:
        self.click(selector)
        self.tools.call("Input.insertText", text=text)
        self.tools.drain(0.2)

    def key(self, key: str, code: str, key_code: int) -> None:
        for kind in ("keyDown", "keyUp"):
            self.tools.call("Input.dispatchKeyEvent", type=kind, key=key, code=code,
                            windowsVirtualKeyCode=key_code)
        self.tools.drain(0.2)

    def errors(self) -> list[str]:
        return _errors(self.tools.events)

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.tools.events
                if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, path, full_page: bool = True) -> list[Path]:
        """The page (in tiles below Chromium's texture size limit) or the viewport as PNG."""
        total = int(self.evaluate("document.documentElement.scrollHeight")) if full_page \
            else self.height
        width = int(self.evaluate("document.documentElement.scrollWidth")) if full_page \
            else self.width
        paths = []
        start = 0 if full_page else int(self.evaluate("window.scrollY"))
        for n, top in enumerate(range(start, start + total, TILE_PX)):
            shot = self.tools.call("Page.captureScreenshot", format="png",
                                   captureBeyondViewport=full_page,
                                   clip={"x": 0, "y": top, "width": width,
                                         "height": min(TILE_PX, start + total - top),
                                         "scale": 1})
            target = Path(path)
            if n:
                target = target.with_name(f"{target.stem}-{n + 1}{target.suffix}")
            target.write_bytes(base64.b64decode(shot["data"]))
            paths.append(target)
        return paths


def inspect_page(html_path, screenshot_path=None, chromium: str | None = None,
                 width: int = 1280, height: int = 900, timeout: float = 60.0) -> PageReport:
    """Load `html_path` in headless Chromium; return console errors, page facts, a screenshot."""
    with BrowserPage(chromium, width, height, timeout) as page:
        page.open(html_path)
        report = PageReport(errors=page.errors(), facts=json.loads(page.evaluate(PAGE_FACTS_JS)))
        if screenshot_path:
            report.screenshots = page.screenshot(screenshot_path)
            report.screenshot = report.screenshots[0]
        return report
