"""``lumos-studio web`` in a real headless Chromium: the page opens, a chat message is answered,
its trace is stored; the page loads nothing from outside this machine; a token guards it, and a
read token opens the read-only studio.

Chromium is Debian's package (``apt-get install chromium``; ``.ci/run`` installs it), driven by
Playwright's Python client pointed at it: no browser is downloaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lumos_studio.store import StoreReader
from tests.ports import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("CI") != "true",  # in CI a missing browser fails
    reason="needs Debian's chromium (apt-get install chromium)",
)


def wait_for_page(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


WRITE, READ = "w-s3cret", "r-s3cret"


@pytest.fixture
def web_studio(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A shared server: the write token's visitors chat, the read token's only look."""
    port, db = free_port(), tmp_path / "web.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", str(db), "web", "--port", str(port),
         "--otlp-port", "0", "--token", WRITE, "--read-token", READ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_page(url)
        yield url, db
    finally:
        process.terminate()
        process.wait(30)


def stored_answer(db: Path, timeout: float = 60) -> str:
    """The weather agent's answer, once its trace is in the store."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db.exists():
            reader = StoreReader(db)
            try:
                for summary in reader.list_traces(limit=5):
                    spans = reader.trace_spans(summary.trace_id)
                    root = next((s for s in spans if s.parent_span_id is None), None)
                    if root is not None and root.end_ns is not None:
                        return str(root.attributes.get("gen_ai.output.messages", ""))
            finally:
                reader.close()
        time.sleep(0.2)
    raise AssertionError("no finished trace reached the store")


class Screen:
    """What the studio sent a page over its websocket: the terminal's bytes, as text."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    def watch(self, websocket: Any) -> None:
        websocket.on("framereceived", lambda payload: self.frames.append(
            payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload))

    def shows(self, text: str) -> bool:
        return any(text in frame for frame in self.frames)

    def wait_for(self, page: Any, text: str, timeout_ms: int = 60_000) -> None:
        """Until the studio drew ``text`` (on a loaded machine it takes a while to start)."""
        waited = 0
        while not self.shows(text):
            assert waited < timeout_ms, f"the page never showed {text!r}"
            page.wait_for_timeout(200)
            waited += 200


def test_a_chat_message_in_the_browser_is_answered_and_its_trace_stored(
        web_studio: tuple[str, Path], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    url, db = web_studio
    outside: list[str] = []
    screen = Screen()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.on("request", lambda request: outside.append(request.url)
                    if not request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1"))
                    else None)
            page.on("websocket", screen.watch)
            page.goto(f"{url}/?token={WRITE}")
            page.wait_for_selector("body.-first-byte", timeout=30_000)  # the studio drew
            screen.wait_for(page, "Message the agent")  # the chat input is there
            page.wait_for_timeout(1_000)  # its first frame, then its widgets take keys
            page.click("#terminal")
            page.keyboard.press("i")
            page.wait_for_timeout(300)  # the chat input takes the focus
            page.keyboard.type("What is the weather in Paris?")
            page.keyboard.press("Enter")
            answer = stored_answer(db)
            page.wait_for_timeout(1_000)
            page.screenshot(path=str(tmp_path / "web.png"))
            ended = page.evaluate("document.body.classList.contains('-closed')")
        finally:
            browser.close()
    assert "Paris" in answer
    assert screen.frames and not screen.shows("read-only")  # the write token's whole studio
    assert not ended  # the studio kept running in the page
    assert outside == []  # nothing fetched from the internet: fonts and scripts are ours


def test_on_another_address_the_page_needs_its_token(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lumos_studio.cli import cli

    refused = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "web", "--host",
                                       "0.0.0.0"])
    assert refused.exit_code == 2
    assert "needs a token" in refused.output


def test_with_a_token_the_page_opens_only_with_it_and_remembers_it_in_a_cookie(
        tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "lumos_studio", "--db", str(tmp_path / "t.db"), "web", "--port",
         str(port), "--token", "s3cret", "--read-token", "r3ad"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_page(url)
        assert httpx.get(url).status_code == 401
        assert httpx.get(f"{url}/?token=wrong").status_code == 401
        assert httpx.get(f"{url}/ws").status_code == 401  # no studio starts for a stranger
        with httpx.Client() as browser:
            opened = browser.get(f"{url}/?token=s3cret")
            assert opened.status_code == 200
            assert "lumos_token" in opened.headers["set-cookie"]
            assert "httponly" in opened.headers["set-cookie"].lower()
            assert browser.get(f"{url}/static/css/xterm.css").status_code == 200
            plain = browser.get(f"{url}/ws")  # with the cookie, but no websocket upgrade
            assert plain.status_code == 400 and "websocket" in plain.text
        with httpx.Client() as reader:
            assert reader.get(f"{url}/?token=r3ad").status_code == 200
            assert reader.get(f"{url}/static/css/xterm.css").status_code == 200
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"{url}/?token=s3cret" in output  # the URLs to open, printed
    assert f"read-only: {url}/?token=r3ad" in output
    assert output.count("s3cret") == 1  # never in a log line, nor a traceback's variables
    assert "Traceback" not in output


def test_a_read_token_must_differ_from_the_write_token(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lumos_studio.cli import cli

    refused = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "web", "--token", "same",
                                       "--read-token", "same"])
    assert refused.exit_code == 2
    assert "could write" in refused.output


def test_the_read_token_opens_the_read_only_studio(web_studio: tuple[str, Path]) -> None:
    from playwright.sync_api import sync_playwright

    url, db = web_studio
    screen = Screen()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 860})
            page.on("websocket", screen.watch)
            page.goto(f"{url}/?token={READ}")
            page.wait_for_selector("body.-first-byte", timeout=30_000)
            screen.wait_for(page, "read-only")  # the header says so
            page.wait_for_timeout(1_000)
            page.click("#terminal")
            page.keyboard.press("i")  # the chat key: there is no chat
            page.keyboard.type("What is the weather in Paris?")
            page.keyboard.press("Enter")
            page.wait_for_timeout(2_000)
            told = screen.shows("has no chat")
            ended = page.evaluate("document.body.classList.contains('-closed')")
        finally:
            browser.close()
    assert told
    assert not ended
    reader = StoreReader(db)  # the server made the store; the read-only tab stored nothing
    try:
        assert reader.count_traces() == 0
    finally:
        reader.close()
