"""The chat page of `formc serve`: routes /chat (HTML), /chat/static/* (js, css), /chat/graph.json
(states and transitions of the served machine) and /chat/graph.svg (drawn by Graphviz when it is
installed; the page falls back to its own layout otherwise). Everything is served locally.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from typing import Any, Callable, Optional

from sanic import response

from ..views.graph import build_view, dom_id, edge_label

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
STATIC_TYPES = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8"}


def graph_json(machine: Any, svg: bool) -> dict:
    """The served machine as the page needs it: states (with how to recognise them in a
    tracker), edges (with every transition id they stand for), and whether an SVG exists."""
    view = build_view(machine)
    return {
        "name": view.name,
        "initial": view.initial,
        "svg": svg,
        "states": [{"id": s.id, "label": s.label, "kind": s.kind, "form": s.form,
                    "slot": s.slot, "dom": "state_" + dom_id(s.id), "match": dict(s.match)}
                   for s in view.states],
        "transitions": [{"id": e.id, "source": e.source, "target": e.target,
                         "label": edge_label(e), "dom": "t_" + dom_id(e.id), "why": e.why,
                         "actions": list(e.actions),
                         "ids": list(e.transition_ids)} for e in view.edges],
    }


def register_chat_routes(app: Any, machine_getter: Callable[[], Any],
                         auth_token: Optional[str] = None) -> None:
    """Adds the chat page to a Sanic app. `machine_getter()` returns the machine being served
    now (it may be swapped by PUT /model). With `auth_token`, the graph endpoints want
    ?token= like the HTTP API; the page forwards the token from its own URL."""
    from ..views.dot import dot_available, graph_dot, render

    svg_cache: dict[str, bytes] = {}

    def allowed(request) -> bool:
        if auth_token is None:
            return True
        given = request.args.get("token") or ""
        return hmac.compare_digest(given.encode(), auth_token.encode())

    def denied():
        return response.json({"status": "failure", "reason": "NotAuthenticated",
                              "message": "pass the server's token as ?token=", "code": 401},
                             status=401)

    @app.route("/chat", methods=["GET"], strict_slashes=False, name="formc_chat_page")
    async def chat_page(request):
        with open(os.path.join(STATIC_DIR, "chat.html"), "rb") as handle:
            body = handle.read()
        return response.raw(body, content_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache"})

    @app.route("/chat/static/<name:str>", methods=["GET"], name="formc_chat_static")
    async def chat_static(request, name: str):
        if name not in STATIC_TYPES:        # a fixed list: no path tricks possible
            return response.json({"message": f"no static file {name!r}"}, status=404)
        with open(os.path.join(STATIC_DIR, name), "rb") as handle:
            body = handle.read()
        return response.raw(body, content_type=STATIC_TYPES[name],
                            headers={"Cache-Control": "no-cache"})

    @app.route("/chat/graph.json", methods=["GET"], name="formc_chat_graph_json")
    async def chat_graph_json(request):
        if not allowed(request):
            return denied()
        return response.json(graph_json(machine_getter(), dot_available() is not None),
                             ensure_ascii=False)

    @app.route("/chat/graph.svg", methods=["GET"], name="formc_chat_graph_svg")
    async def chat_graph_svg(request):
        if not allowed(request):
            return denied()
        if dot_available() is None:
            return response.json({"message": "Graphviz 'dot' is not installed on the server; "
                                  "the page draws its own layout"}, status=404)
        machine = machine_getter()
        key = getattr(machine, "digest", "") or str(id(machine))
        if key not in svg_cache:
            text = graph_dot(machine)
            try:
                svg_cache.clear()           # one machine at a time
                svg_cache[key] = await asyncio.to_thread(render, text, "svg")
            except RuntimeError as exc:
                return response.json({"message": str(exc)}, status=500)
        return response.raw(svg_cache[key], content_type="image/svg+xml")
