"""Action-server client: request payload (reference §10.1) -> validated {"events", "responses"} over HTTP.

One aiohttp ClientSession per client, created lazily on first use and closed with `close()`.
Failures are mapped onto Rasa's behaviour (§10.2 "Errors"): a 400 naming the action is an
ActionRejected (the loop gives up control); anything else that goes wrong is an ActionFailed
(the action's events are lost, the conversation continues).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Optional

import aiohttp

from .. import model

# Event type names accepted from an action server (§8.2; `form`/`form_validation` are legacy
# input aliases). Anything else is rejected, like Rasa's event schema does.
KNOWN_EVENTS = frozenset({
    "user", "bot", "action", "slot", "entities", "user_featurization", "reminder",
    "cancel_reminder", "restart", "session_started", "rewind", "undo", "reset_slots", "pause",
    "resume", "followup", "export", "active_loop", "loop_interrupted",
    "action_execution_rejected", "agent", "form", "form_validation",
})
# Per-type required keys beyond `event`.
REQUIRED_KEYS = {"slot": ("name", "value"), "entities": ("entities",)}


class ActionFailed(Exception):
    """The action could not be run (connection, timeout, HTTP error, invalid reply)."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ActionDomainRequired(ActionFailed):
    """HTTP 449: the action server wants the request again with the domain included."""


class ActionRejected(Exception):
    """HTTP 400 naming the action: rasa-sdk's ActionExecutionRejection."""

    def __init__(self, action_name: str, error: str = "") -> None:
        super().__init__(f"action {action_name!r} rejected its execution: {error}")
        self.action_name = action_name
        self.error = error


def validate_result(body: Any) -> dict:
    """Check an action server reply; returns {"events": [...], "responses": [...]}."""
    if not isinstance(body, dict):
        raise ActionFailed(f"action server reply is not a JSON object but {type(body).__name__}")
    events = body.get("events")
    responses = body.get("responses")
    events = [] if events is None else events
    responses = [] if responses is None else responses
    if not isinstance(events, list):
        raise ActionFailed("action server reply: `events` is not a list")
    if not isinstance(responses, list):
        raise ActionFailed("action server reply: `responses` is not a list")
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise ActionFailed(f"action server reply: events[{i}] is not an object")
        kind = event.get("event")
        if kind not in KNOWN_EVENTS:
            raise ActionFailed(f"action server reply: events[{i}] has unknown event type {kind!r}")
        for key in REQUIRED_KEYS.get(kind, ()):
            if key not in event:
                raise ActionFailed(f"action server reply: events[{i}] ({kind}) lacks {key!r}")
    for i, response in enumerate(responses):
        if not isinstance(response, dict):
            raise ActionFailed(f"action server reply: responses[{i}] is not an object")
    return {"events": events, "responses": responses}


class ActionClient:
    """POSTs action requests to one action endpoint."""

    def __init__(self, endpoint: model.ActionEndpoint, timeout: float = 10.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._session: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def _params(self) -> dict:
        if self.endpoint.token is None:
            return {}
        return {self.endpoint.token_name or "token": self.endpoint.token}

    async def _get_session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            # A session is bound to its event loop; a client reused from another loop (e.g. a
            # second asyncio.run) gets a fresh one instead of failing.
            if self._session is not None and not self._session.closed and self._loop is loop:
                await self._session.close()
            self._session = aiohttp.ClientSession(headers=dict(self.endpoint.headers))
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            if self._loop is asyncio.get_running_loop():
                await self._session.close()
        self._session = None
        self._loop = None

    async def __aenter__(self) -> "ActionClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def run(self, payload: dict) -> dict:
        """Run `payload["next_action"]` on the action server; returns the validated reply."""
        action = payload.get("next_action")
        session = await self._get_session()
        try:
            async with session.post(
                self.endpoint.url,
                json=payload,
                params=self._params(),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as reply:
                status = reply.status
                raw = await reply.read()
        except asyncio.TimeoutError as exc:
            raise ActionFailed(f"action {action!r}: no reply from {self.endpoint.url} "
                               f"within {self.timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise ActionFailed(f"action {action!r}: cannot reach the action server at "
                               f"{self.endpoint.url}: {exc}") from exc
        body = _parse_json(raw)
        if 200 <= status < 300:
            if body is _INVALID:
                raise ActionFailed(f"action {action!r}: the action server's reply is not JSON",
                                   status)
            return validate_result(body)
        error = body.get("error", "") if isinstance(body, dict) else ""
        if status == 400 and isinstance(body, dict) and body.get("action_name"):
            raise ActionRejected(str(body["action_name"]), str(error))
        if status == 449:
            raise ActionDomainRequired(f"action {action!r}: the action server needs the domain",
                                       status)
        detail = f": {error}" if error else ""
        raise ActionFailed(f"action {action!r}: action server answered HTTP {status}{detail}",
                           status)


_INVALID = object()


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _INVALID
