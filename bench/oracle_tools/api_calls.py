"""The HTTP API calls whose answers are recorded from real Rasa 3.6 (record_api.py) and compared
with formc serve's (tests/test_api_oracle.py): (name, method, path, JSON body or raw bytes).

The bot is tests/oracles/edge3 (no custom actions). Calls run in this order on one server.
"""
from __future__ import annotations

SENDER = "api-user"
CALLS = [
    ("root", "GET", "/", None),
    ("webhook_first", "POST", "/webhooks/rest/webhook", {"sender": SENDER, "message": "book with dr smith"}),
    ("tracker", "GET", f"/conversations/{SENDER}/tracker", None),
    ("tracker_none", "GET", f"/conversations/{SENDER}/tracker?include_events=NONE", None),
    ("tracker_applied", "GET", f"/conversations/{SENDER}/tracker?include_events=APPLIED", None),
    ("parse_entities", "POST", "/model/parse", {"text": "book with dr smith on monday at 9am"}),
    ("parse_fallback", "POST", "/model/parse", {"text": "xqzt blorf"}),
    ("parse_payload", "POST", "/model/parse", {"text": "/inform{\"day\": \"monday\"}"}),
    ("parse_message_id", "POST", "/model/parse", {"text": "hello", "message_id": "m-1"}),
    ("messages", "POST", f"/conversations/{SENDER}/messages", {"text": "monday", "sender": "user"}),
    ("trigger_intent", "POST", f"/conversations/{SENDER}/trigger_intent", {"name": "ask_hours"}),
    ("trigger_intent_entities", "POST", f"/conversations/{SENDER}/trigger_intent",
     {"name": "inform", "entities": {"time": "10am"}}),
    ("webhook_metadata", "POST", "/webhooks/rest/webhook",
     {"sender": "api-meta", "message": "hi", "metadata": {"channel_user": 7}}),
    ("tracker_metadata", "GET", "/conversations/api-meta/tracker", None),
    ("tracker_unknown_sender", "GET", "/conversations/nobody-here/tracker", None),
    ("bad_parse_json", "POST", "/model/parse", b"{not json"),
    ("bad_parse_missing_text", "POST", "/model/parse", {"message": "hi"}),
    ("bad_trigger_unknown_intent", "POST", f"/conversations/{SENDER}/trigger_intent", {"name": "no_such_intent"}),
    ("bad_trigger_missing_name", "POST", f"/conversations/{SENDER}/trigger_intent", {"entities": {}}),
    ("bad_messages_missing_sender", "POST", f"/conversations/{SENDER}/messages", {"text": "hi"}),
    ("unknown_route", "GET", "/no/such/route", None),
    ("events_append_new", "POST", "/conversations/api-events/tracker/events",
     [{"event": "slot", "name": "doctor", "value": "dr lee"}]),
    ("events_append_existing", "POST", f"/conversations/{SENDER}/tracker/events",
     {"event": "slot", "name": "time", "value": "5pm"}),
    ("webhook_after_events", "POST", "/webhooks/rest/webhook",
     {"sender": "api-events", "message": "who is my doctor"}),
    ("predict", "POST", f"/conversations/{SENDER}/predict", None),
    ("predict_after_events", "POST", "/conversations/api-events/predict", None),
    ("bad_events_unknown_type", "POST", f"/conversations/{SENDER}/tracker/events",
     [{"event": "no_such_event"}]),
    ("bad_events_slot_without_value", "POST", f"/conversations/{SENDER}/tracker/events",
     {"event": "slot", "name": "time"}),
]
