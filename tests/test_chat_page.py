"""The /chat page of `formc serve`: served assets over real HTTP, and a headless-Chromium run
through the restaurant form that checks the replies, the highlighted state and the slots."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from support.serve_helpers import ROOT, FormcServer, http

RESTAURANT = os.path.join(ROOT, "examples", "restaurant")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Compile first (the NLU training takes seconds), then serve the .fsm on a free port.
    from formc.artifact import dump_machine
    from formc.api import compile_project

    work = tmp_path_factory.mktemp("chat")
    machine, diagnostics = compile_project(RESTAURANT)
    assert machine is not None, [d.render() for d in diagnostics if d.is_error]
    fsm = str(work / "restaurant.fsm")
    dump_machine(machine, fsm, root=RESTAURANT)
    srv = FormcServer(fsm, "--store", "memory://", cwd=str(work))
    yield srv
    srv.stop()


def test_chat_assets_are_served_locally(server):
    status, headers, html = http("GET", server.url("/chat"))
    assert status == 200 and "text/html" in headers["Content-Type"]
    assert '<script src="/chat/static/chat.js">' in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)   # nothing from a CDN
    for name, ctype in (("chat.js", "javascript"), ("chat.css", "text/css")):
        status, headers, body = http("GET", server.url(f"/chat/static/{name}"))
        assert status == 200 and ctype in headers["Content-Type"], name
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", body), name
    status, _, _ = http("GET", server.url("/chat/static/..%2Fchatpage.py"))
    assert status == 404


def test_graph_json_describes_the_served_machine(server):
    status, _, graph = http("GET", server.url("/chat/graph.json"))
    assert status == 200
    assert graph["name"] == "restaurant" and graph["initial"] == "listening"
    ids = {s["id"]: s for s in graph["states"]}
    assert ids["form:restaurant_form:num_people"]["match"] == {
        "active_loop": "restaurant_form", "requested_slot": "num_people"}
    assert ids["listening"]["match"] == {"active_loop": None}
    fill = next(t for t in graph["transitions"] if t["id"] == "form:restaurant_form:fill:cuisine")
    assert fill["target"] == "form:restaurant_form:num_people"
    assert graph["svg"] == (shutil.which("dot") is not None)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' is not installed")
def test_graph_svg_has_addressable_nodes(server):
    status, headers, svg = http("GET", server.url("/chat/graph.svg"))
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert 'id="state_form_restaurant_form_cuisine"' in svg
    assert 'id="state_listening"' in svg


def _playwright():
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright for Python is not installed in the venv")
    return sync_playwright


def test_chat_through_the_restaurant_form(server, tmp_path):
    sync_playwright = _playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.goto(server.url("/chat?sender=browser-test"))
            page.wait_for_function("document.body.dataset.ready === '1'", timeout=15000)
            renderer = page.get_attribute("#graph", "data-renderer")
            assert renderer == ("graphviz" if shutil.which("dot") else "builtin")
            assert page.inner_text("#current-state") == "listening"

            turns = 0

            def say(text: str) -> list[str]:
                nonlocal turns
                before = page.locator("#messages .msg.bot").count()
                page.fill("#input", text)
                page.press("#input", "Enter")
                turns += 1
                page.wait_for_function(f"document.body.dataset.turns === '{turns}'", timeout=15000)
                return page.locator("#messages .msg.bot").all_inner_texts()[before:]

            def state() -> str:
                return page.evaluate("document.body.dataset.state")

            replies = say("hi there")
            assert replies and replies[0].startswith("Hi, welcome to Trattoria Formica!")
            # outside any form: listening, or a story state waiting after utter_welcome
            assert state() in ("listening", "story:1")
            assert page.locator("#graph .node.current").get_attribute("data-state") == state()
            # the first view shows the initial values: nothing is highlighted as changed
            assert page.locator("#slots tr.changed").count() == 0

            replies = say("I'd like to book a table")
            assert replies[-1].startswith("What kind of food would you like?")
            assert state() == "form:restaurant_form:cuisine"
            assert page.inner_text("#current-state") == "ask cuisine"
            assert page.inner_text("#active-loop") == "restaurant_form"
            highlighted = page.locator("#graph .node.current")
            assert highlighted.count() == 1
            assert highlighted.get_attribute("data-state") == "form:restaurant_form:cuisine"

            replies = say("something indian please")
            assert replies == ["How many people will be dining? Please give a number, e.g. 4."]
            assert state() == "form:restaurant_form:num_people"
            assert '"indian"' in page.inner_text("#slots tr[data-slot=cuisine]")
            # only what this turn changed is highlighted (cuisine, and the next requested slot)
            changed = page.eval_on_selector_all("#slots tr.changed", "rows => rows.map(r => r.dataset.slot)")
            assert "cuisine" in changed and "num_people" not in changed and "outdoor_seating" not in changed
            # zoomed in, the current state sits in the middle of the panel
            page.click("#zoom")
            offset = page.evaluate("""() => {
                const n = document.querySelector('#graph .node.current').getBoundingClientRect();
                const b = document.querySelector('#graph').getBoundingClientRect();
                return [Math.abs(n.left + n.width / 2 - (b.left + b.width / 2)),
                        Math.abs(n.top + n.height / 2 - (b.top + b.height / 2)),
                        b.width, b.height]; }""")
            scroll = page.evaluate("[document.querySelector('#graph').scrollWidth, document.querySelector('#graph').clientWidth]")
            if scroll[0] > scroll[1] * 1.5:       # the drawing is wider than the panel
                assert offset[0] < offset[2] / 4, offset
            page.click("#zoom")

            replies = say("we are 6")
            assert replies[0].startswith("Would you like to sit outside on the terrace?")
            assert state() == "form:restaurant_form:outdoor_seating"

            replies = say("yes please")
            assert replies[0].startswith("Any other wishes")
            assert state() == "form:restaurant_form:preferences"
            page.screenshot(path=str(tmp_path / "chat-page-form.png"), full_page=True)

            replies = say("a window seat please")
            assert replies[0] == "All set! We look forward to seeing you at Trattoria Formica."
            assert replies[-1] == ("Your booking: indian food for 6 people, on the terrace. "
                                   "Notes: a window seat please.")
            # The form is done: no form state any more (the machine may follow a story state).
            assert not state().startswith("form:")
            assert page.inner_text("#active-loop") == "none"
            assert page.locator("#graph .node.current").get_attribute("data-state") == state()
            shot = tmp_path / "chat-page.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 10_000
            if os.environ.get("FORMC_UPDATE_DOCS") == "1":
                os.makedirs(os.path.join(ROOT, "docs"), exist_ok=True)
                shutil.copy(tmp_path / "chat-page-form.png", os.path.join(ROOT, "docs", "chat-page.png"))
        finally:
            browser.close()
