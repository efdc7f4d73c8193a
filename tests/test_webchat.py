"""The real rasa-webchat widget (npm package rasa-webchat, its own bundle on a local page, no CDN)
in headless Chromium against `formc serve` over socket.io: two turns, a quick reply clicked, a
screenshot in the test's tmp dir (FORMC_WRITE_DOCS=1 also writes docs/webchat.png)."""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support.channels_support import restaurant_fsm, write
from support.serve_helpers import FormcServer
from support.shared_paths import ROOT

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
WEBCHAT_VERSION = "1.0.1"
CACHE = os.environ.get("FORMC_WEBCHAT_DIR") or os.path.expanduser("~/.cache/formc-tests/webchat")
# As the machine's notes say: without the background-networking flags Chromium keeps trying
# hosts this closed network refuses.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>formc + rasa-webchat</title>
<style>body{{margin:0;font-family:sans-serif;background:#f3f4f6}}
#webchat{{position:absolute;left:40px;top:30px;width:420px;height:560px}}</style></head>
<body><div id="webchat"></div>
<script src="webchat.js"></script>
<script>
WebChat.default({{
  selector: "#webchat", initPayload: "/greet", socketUrl: "{url}", socketPath: "/socket.io/",
  customData: {{"language": "en"}}, title: "Trattoria Formica", subtitle: "served by formc",
  embedded: true, params: {{storage: "session"}}
}}, null);
</script></body></html>
"""


def webchat_bundle() -> str:
    """rasa-webchat's UMD bundle (lib/index.js), installed from npm once into CACHE."""
    bundle = os.path.join(CACHE, "node_modules", "rasa-webchat", "lib", "index.js")
    if not os.path.exists(bundle):
        os.makedirs(CACHE, exist_ok=True)
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts",
                               "--prefix", CACHE, f"rasa-webchat@{WEBCHAT_VERSION}"],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return bundle


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_rasa_webchat_talks_to_formc_over_socketio(tmp_path):
    from playwright.sync_api import sync_playwright
    fsm = restaurant_fsm(str(tmp_path))
    creds = write(tmp_path / "credentials.yml", "rest:\nsocketio:\n  user_message_evt: user_uttered\n"
                  "  bot_message_evt: bot_uttered\n  session_persistence: true\n")
    server = FormcServer(fsm, "--credentials", creds, "--store", "memory://", "--cors", "*",
                         cwd=str(tmp_path))
    site = tmp_path / "site"
    site.mkdir()
    shutil.copy(webchat_bundle(), site / "webchat.js")
    (site / "index.html").write_text(PAGE.format(url=server.base))
    handler = partial(_QuietHandler, directory=str(site))
    pages = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    shot = tmp_path / "webchat.png"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 500, "height": 620})
            page.goto(f"http://127.0.0.1:{pages.server_address[1]}/index.html")
            try:
                page.wait_for_selector("text=welcome", timeout=30000)      # turn 1: /greet
            except Exception:
                page.screenshot(path=str(tmp_path / "failed.png"))
                raise
            page.fill(".rw-new-message", "I am looking for a restaurant")
            page.keyboard.press("Enter")
            page.wait_for_selector("text=What kind of food would you like?", timeout=30000)
            page.click(".rw-reply >> text=Italian")                      # a quick reply
            page.wait_for_selector("text=How many people", timeout=30000)  # turn 2 answered
            page.screenshot(path=str(shot))
            browser.close()
    finally:
        pages.shutdown()
        pages.server_close()
        server.stop()
    assert shot.stat().st_size > 10000
    if os.environ.get("FORMC_WRITE_DOCS") == "1":
        shutil.copy(shot, os.path.join(ROOT, "docs", "webchat.png"))
    out = server.output()
    assert '"kind": "message", "intent": "request_restaurant"' in out
    assert '"intent": "inform"' in out


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
