"""Action-server client: request payload (reference §10.1) -> validated {"events", "responses"} over HTTP.

One aiohttp ClientSession per client, created lazily on first use and closed with `close()`.
Failures are mapped onto Rasa's behaviour (§10.2 "Errors"): a 400 naming the action is an
ActionRejected (the loop gives up control); anything else that goes wrong is an ActionFailed
(the action's events are lost, the conversation continues).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Optional

import aiohttp

from .. import model
from .event_schema import EVENT_KINDS, event_problem, json_problem

log = logging.getLogger("formc.actions")

# What one reply may carry (issue 14). The conversation keeps its last 200 events (Agent's
# history_limit): a reply is capped well below that, so the user's own message stays in the
# tracker; a 50 MB slot value would be written with every later turn of the conversation.
MAX_REPLY_BYTES = 4 * 1024 * 1024
MAX_EVENTS = 100
MAX_SLOT_VALUE_BYTES = 64 * 1024
# The accepted kinds and the keys each must have (the full schema: event_schema.py).
KNOWN_EVENTS = EVENT_KINDS
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
    problem = json_problem(body)
    if problem:
        raise ActionFailed(f"action server reply {problem}")
    events = body.get("events")
    responses = body.get("responses")
    events = [] if events is None else events
    responses = [] if responses is None else responses
    if not isinstance(events, list):
        raise ActionFailed("action server reply: `events` is not a list")
    if not isinstance(responses, list):
        raise ActionFailed("action server reply: `responses` is not a list")
    if len(events) > MAX_EVENTS:
        raise ActionFailed(f"action server reply has {len(events):,} events; at most "
                           f"{MAX_EVENTS} are accepted per action")
    for i, event in enumerate(events):
        if not isinstance(event, dict):
            raise ActionFailed(f"action server reply: events[{i}] is not an object")
        kind = event.get("event")
        if kind not in KNOWN_EVENTS:
            raise ActionFailed(f"action server reply: events[{i}] has unknown event type {kind!r}")
        for key in REQUIRED_KEYS.get(kind, ()):
            if key not in event:
                raise ActionFailed(f"action server reply: events[{i}] ({kind}) lacks {key!r}")
        problem = event_problem(event)    # field types, as Rasa's event classes read them
        if problem:
            raise ActionFailed(f"action server reply: events[{i}] {problem}")
        if event.get("event") == "slot":
            size = len(json.dumps(event.get("value"), ensure_ascii=False))
            if size > MAX_SLOT_VALUE_BYTES:
                raise ActionFailed(f"action server reply: events[{i}] sets slot "
                                   f"{event['name']!r} to a value of {size:,} bytes; at most "
                                   f"{MAX_SLOT_VALUE_BYTES:,} are accepted")
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
                raw = await _read_capped(reply, action)
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
            try:
                return validate_result(body)
            except ActionFailed as exc:   # a clear line: the action's events are dropped
                log.warning(json.dumps({"action": action, "refused_reply": exc.message}))
                raise
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


async def _read_capped(reply: aiohttp.ClientResponse, action: Any) -> bytes:
    """The reply body, refused (ActionFailed) past MAX_REPLY_BYTES without reading it all."""
    if (reply.content_length or 0) > MAX_REPLY_BYTES:
        raise ActionFailed(f"action {action!r}: the action server's reply is "
                           f"{reply.content_length:,} bytes; at most {MAX_REPLY_BYTES:,} are read")
    chunks, size = [], 0
    async for chunk in reply.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise ActionFailed(f"action {action!r}: the action server's reply is over "
                               f"{MAX_REPLY_BYTES:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return _INVALID
