"""What every route shares: the server's settings, auth, conversation ids, JSON answers."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any, Optional
from urllib.parse import unquote

from sanic import response

from .errors import ApiError, bad_request

INCLUDE_EVENTS = ("AFTER_RESTART", "ALL", "APPLIED", "NONE")
ADMIN_HINT = ("Start the server with --auth-token TOKEN and pass ?token=TOKEN to use the "
              "endpoints that change conversations or the model.")


@dataclass(frozen=True)
class Settings:
    """How `formc serve` was started (kept on app.ctx.settings for the routes)."""

    store_url: str
    auth_token: Optional[str] = None
    origins: tuple = ()
    endpoints: Optional[str] = None       # endpoints.yml overriding the compiled action endpoint


def json_response(data: Any, status: int = 200, headers: Optional[dict] = None):
    return response.json(data, status=status, headers=headers, ensure_ascii=False)


def guard(request, admin: bool) -> None:
    """Refuse the request unless it carries the server's token (any route, when the server has
    one); admin routes are refused outright on a server started without a token."""
    token = request.app.ctx.settings.auth_token
    if token is not None:
        given = request.args.get("token")
        if given is None or not hmac.compare_digest(given.encode(), token.encode()):
            raise ApiError(401, "NotAuthenticated",
                           "User is not authenticated: pass the server's token as ?token=.",
                           help="The server was started with --auth-token.")
    elif admin:
        raise ApiError(403, "NotAuthorized",
                       "This endpoint changes conversations or the model and is disabled "
                       "because the server runs without an auth token.", help=ADMIN_HINT)


def checked_id(request, conversation_id: str, admin: bool) -> str:
    """A conversation route's id, once the request may use the route (Sanic leaves path
    parameters quoted)."""
    guard(request, admin)
    return unquote(conversation_id)


def include_events(request) -> str:
    value = (request.args.get("include_events") or "AFTER_RESTART").upper()
    if value not in INCLUDE_EVENTS:
        raise bad_request(f"include_events={request.args.get('include_events')!r} is not one of "
                          f"{', '.join(INCLUDE_EVENTS)}.", parameter="include_events")
    return value


def rest_messages(messages: list, recipient_id: str) -> list:
    """Bot messages as the REST channel sends them (text split on blank lines, buttons, ...)."""
    from ..runtime.responses import to_rest_messages
    out: list = []
    for message in messages or ():
        out.extend(to_rest_messages(message, recipient_id))
    return out


def route_methods(*methods: str) -> list:
    """Every route also answers CORS preflight (OPTIONS)."""
    return [*methods, "OPTIONS"]
