"""The browser views of ``lumos-studio web`` for the README: ``screenshots/web.png`` and
``screenshots/web-read-only.png``.

A real ``lumos-studio web`` on a throwaway store, with a write and a read token, Debian's Chromium
driven by Playwright: the write token's page opens, one chat message is sent, and the picture is
taken once its trace is stored; then the read token's page shows that trace, read-only.
Skipped, saying so, where no Chromium is installed.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for tests/
from tests.ports import free_port
from tests.web.test_web_browser import stored_answer, wait_for_page

OUT = Path(__file__).resolve().parent / "web.png"
READ_ONLY_OUT = OUT.with_name("web-read-only.png")
WRITE, READ = "write-token", "read-token"


def main() -> int:
    import subprocess

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("skipped web.png: no chromium here (apt-get install chromium)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        db, port = Path(tmp) / "web.db", free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "lumos_studio", "--db", str(db), "web", "--port", str(port),
             "--otlp-port", "0", "--token", WRITE, "--read-token", READ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for_page(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True,
                                                     args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1400, "height": 860})
                page.goto(f"{url}/?token={WRITE}")
                page.wait_for_selector("body.-first-byte", timeout=30_000)
                page.wait_for_timeout(1_500)
                page.click("#terminal")
                page.keyboard.press("i")
                page.wait_for_timeout(300)
                page.keyboard.type("What is the weather in Paris?")
                page.keyboard.press("Enter")
                stored_answer(db)
                page.wait_for_timeout(1_500)
                page.screenshot(path=str(OUT))
                page.close()
                reading = browser.new_page(viewport={"width": 1400, "height": 860})
                reading.goto(f"{url}/?token={READ}")
                reading.wait_for_selector("body.-first-byte", timeout=30_000)
                reading.wait_for_timeout(2_500)  # the list, then the newest trace opened
                reading.screenshot(path=str(READ_ONLY_OUT))
                browser.close()
        finally:
            server.terminate()
            server.wait(30)
    print(f"wrote {OUT.name} and {READ_ONLY_OUT.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
