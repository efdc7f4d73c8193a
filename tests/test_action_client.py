"""ActionClient against a real rasa-sdk action server (tests.actions.clienttest) and a recording HTTP server."""
from __future__ import annotations

import asyncio
import socket
import time

import pytest
from aiohttp import web

from support.action_server import start_action_server, tracker_payload
from formc.model import ActionEndpoint
from formc.runtime.action_client import (ActionClient, ActionDomainRequired, ActionFailed,
                                         ActionRejected, validate_result)


@pytest.fixture(scope="module")
def sdk_url():
    url, stop = start_action_server("clienttest")
    yield url
    stop()


def run(coro):
    return asyncio.run(coro)


async def _call(endpoint: ActionEndpoint, payload: dict, timeout: float = 10.0) -> dict:
    async with ActionClient(endpoint, timeout=timeout) as client:
        return await client.run(payload)


def test_success_returns_events_and_responses(sdk_url):
    result = run(_call(ActionEndpoint(sdk_url), tracker_payload("action_hello")))
    assert result["events"] == [{"event": "slot", "timestamp": None, "name": "greeted",
                                 "value": True}]
    free, named = result["responses"]
    assert free["text"] == "Hello {name}!" and free["response"] is None
    assert named["response"] == "utter_greet" and named["name"] == "Ann"


def test_token_is_ignored_by_rasa_sdk_but_accepted(sdk_url):
    endpoint = ActionEndpoint(sdk_url, token="s3cret")
    assert run(_call(endpoint, tracker_payload("action_hello")))["events"]


def test_rejection_by_plain_action(sdk_url):
    with pytest.raises(ActionRejected) as info:
        run(_call(ActionEndpoint(sdk_url), tracker_payload("action_reject")))
    assert info.value.action_name == "action_reject"
    assert "not now" in info.value.error


def test_rejection_by_form_validation_action(sdk_url):
    events = [{"event": "action", "name": "action_listen"},
              {"event": "user", "text": "reject", "parse_data": {}},
              {"event": "slot", "name": "requested_slot", "value": "color"},
              {"event": "action", "name": "color_form"},
              {"event": "slot", "name": "color", "value": "reject"}]
    payload = tracker_payload("validate_color_form", events=events,
                              slots={"requested_slot": "color", "color": "reject"},
                              domain={"forms": {"color_form": {"required_slots": ["color"]}}})
    with pytest.raises(ActionRejected) as info:
        run(_call(ActionEndpoint(sdk_url), payload))
    assert info.value.action_name == "validate_color_form"


def test_form_validation_success(sdk_url):
    events = [{"event": "slot", "name": "requested_slot", "value": "color"},
              {"event": "action", "name": "color_form"},
              {"event": "slot", "name": "color", "value": "RED"}]
    payload = tracker_payload("validate_color_form", events=events,
                              slots={"requested_slot": "color", "color": "RED"},
                              domain={"forms": {"color_form": {"required_slots": ["color"]}}})
    result = run(_call(ActionEndpoint(sdk_url), payload))
    assert [(e["name"], e["value"]) for e in result["events"]] == [("color", "red")]


def test_unknown_action_is_a_failure_with_404(sdk_url):
    with pytest.raises(ActionFailed) as info:
        run(_call(ActionEndpoint(sdk_url), tracker_payload("action_does_not_exist")))
    assert info.value.status == 404
    assert not isinstance(info.value, ActionRejected)


def test_crashing_action_is_a_failure_with_500(sdk_url):
    with pytest.raises(ActionFailed) as info:
        run(_call(ActionEndpoint(sdk_url), tracker_payload("action_crash")))
    assert info.value.status == 500
    assert "boom" in info.value.message


def test_missing_domain_is_449(sdk_url):
    payload = tracker_payload("action_hello")
    del payload["domain"]
    payload["domain_digest"] = "not-the-digest"
    with pytest.raises(ActionDomainRequired) as info:
        run(_call(ActionEndpoint(sdk_url), payload))
    assert info.value.status == 449


def test_timeout(sdk_url):
    payload = tracker_payload("action_sleep", slots={"delay": 3})
    started = time.monotonic()
    with pytest.raises(ActionFailed) as info:
        run(_call(ActionEndpoint(sdk_url), payload, timeout=0.3))
    assert time.monotonic() - started < 2.5
    assert "within 0.3 s" in info.value.message


def test_invalid_event_from_server_is_a_failure(sdk_url):
    with pytest.raises(ActionFailed, match="unknown event type 'no_such_event'"):
        run(_call(ActionEndpoint(sdk_url), tracker_payload("action_bad_event")))


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]   # closed again: nobody listens there
    with pytest.raises(ActionFailed, match="cannot reach"):
        run(_call(ActionEndpoint(f"http://127.0.0.1:{port}/webhook"), tracker_payload("x")))


def test_session_is_reused_and_closed(sdk_url):
    async def scenario():
        client = ActionClient(ActionEndpoint(sdk_url))
        await client.run(tracker_payload("action_hello"))
        first = client._session
        await client.run(tracker_payload("action_hello"))
        assert client._session is first
        await client.close()
        assert first.closed
    run(scenario())


def test_client_is_reusable_after_close_in_a_new_event_loop(sdk_url):
    client = ActionClient(ActionEndpoint(sdk_url))

    async def once():
        try:
            return await client.run(tracker_payload("action_hello"))
        finally:
            await client.close()

    assert run(once())["events"]
    assert run(once())["events"]


# ----------------------------------------------------- a recording server (query, headers)

async def _with_recorder(handler_status: int, body, scenario):
    seen = {}

    async def handle(request: web.Request) -> web.Response:
        seen["query"] = dict(request.query)
        seen["headers"] = dict(request.headers)
        seen["json"] = await request.json()
        if isinstance(body, (bytes, str)):
            return web.Response(status=handler_status, body=body)
        return web.json_response(body, status=handler_status)

    app = web.Application()
    app.router.add_post("/webhook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        return seen, await scenario(f"http://127.0.0.1:{port}/webhook")
    finally:
        await runner.cleanup()


def test_token_and_headers_are_sent():
    async def scenario(url):
        endpoint = ActionEndpoint(url + "?x=1", token="s3cret", token_name="auth",
                                  headers=(("X-Bot", "formc"),))
        return await _call(endpoint, tracker_payload("action_hello"))

    seen, result = run(_with_recorder(200, {"events": [], "responses": []}, scenario))
    assert seen["query"] == {"x": "1", "auth": "s3cret"}
    assert seen["headers"]["X-Bot"] == "formc"
    assert seen["json"]["next_action"] == "action_hello"
    assert result == {"events": [], "responses": []}


def test_missing_keys_default_to_empty_lists():
    async def scenario(url):
        return await _call(ActionEndpoint(url), tracker_payload("a"))
    _, result = run(_with_recorder(200, {}, scenario))
    assert result == {"events": [], "responses": []}


@pytest.mark.parametrize("status,body", [(200, b"not json"), (200, [1, 2]), (200, "null"),
                                         (400, {"error": "no name"}), (503, b"down")])
def test_bad_replies_are_failures(status, body):
    async def scenario(url):
        return await _call(ActionEndpoint(url), tracker_payload("a"))
    with pytest.raises(ActionFailed):
        run(_with_recorder(status, body, scenario))


@pytest.mark.parametrize("body,message", [
    ({"events": {}}, "`events` is not a list"),
    ({"responses": "x"}, "`responses` is not a list"),
    ({"events": ["slot"]}, "events[0] is not an object"),
    ({"events": [{"name": "x"}]}, "unknown event type None"),
    ({"events": [{"event": "slot", "name": "x"}]}, "lacks 'value'"),
    ({"events": [{"event": "entities"}]}, "lacks 'entities'"),
    ({"responses": [1]}, "responses[0] is not an object"),
])
def test_validate_result_rejects_bad_shapes(body, message):
    with pytest.raises(ActionFailed) as info:
        validate_result(body)
    assert message in info.value.message


def test_validate_result_accepts_legacy_and_null_slot_values():
    body = {"events": [{"event": "form", "name": None}, {"event": "slot", "name": "a", "value": None},
                       {"event": "form_validation", "validate": False}], "responses": [{}]}
    assert validate_result(body)["events"] == body["events"]
