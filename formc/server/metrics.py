"""GET /metrics: Prometheus text format (prometheus-client) of one server process: messages by
channel, turns by kind and outcome, latency per stage, action-server calls and failures, store
errors, active conversations. Turns are measured by wrapping Conversations.run (and each bot's
action calls), so the turn code itself stays free of metrics."""
from __future__ import annotations

import time
from typing import Any

from sanic import Blueprint, response

ACTIVE_WINDOW = 900.0   # a conversation is active if it had a turn in the last 15 minutes
_STAGES = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        self.registry = r = CollectorRegistry(auto_describe=True)
        self.messages = Counter("formc_messages", "User messages received", ["channel"], registry=r)
        self.turns = Counter("formc_turns", "Turns run, by kind and outcome",
                             ["kind", "outcome"], registry=r)
        self.stage = Histogram("formc_turn_stage_seconds", "Time per turn stage",
                               ["stage"], buckets=_STAGES, registry=r)
        self.actions = Counter("formc_action_server_calls", "Custom action calls",
                               ["outcome"], registry=r)
        self.store_errors = Counter("formc_store_errors", "Turns failed by the store", registry=r)
        self.active = Gauge("formc_active_conversations",
                            f"Conversations with a turn in the last {ACTIVE_WINDOW:g} s", registry=r)
        self.active.set_function(self._count_active)
        self._seen: dict[str, float] = {}

    def _count_active(self) -> int:
        cutoff = time.time() - ACTIVE_WINDOW
        for sender in [s for s, t in self._seen.items() if t < cutoff]:
            del self._seen[sender]
        return len(self._seen)

    def text(self) -> bytes:
        from prometheus_client import generate_latest
        return generate_latest(self.registry)


def _instrument_agent(agent: Any, metrics: Metrics) -> None:
    if getattr(agent, "_formc_metrics", False):
        return
    inner = agent.run_action

    async def run_action(session, req):
        reply = await inner(session, req)
        metrics.actions.labels("rejected" if getattr(reply, "rejected", False) else
                               "failed" if getattr(reply, "error", None) else "ok").inc()
        return reply
    agent.run_action = run_action
    agent._formc_metrics = True


def instrument(conversations: Any, metrics: Metrics) -> None:
    """Wrap `conversations.run` so each turn is counted and timed by stage."""
    from ..stores import StoreError
    inner = conversations.run

    async def run(sender_id, kind, step, *args, **kwargs):
        started = time.perf_counter()
        marks: dict = {}

        async def timed_step(bot, session):
            _instrument_agent(bot.agent, metrics)
            marks["locked"] = time.perf_counter()
            try:
                return await step(bot, session)
            finally:
                marks["stepped"] = time.perf_counter()
        try:
            result = await inner(sender_id, kind, timed_step, *args, **kwargs)
        except StoreError:
            metrics.store_errors.inc()
            metrics.turns.labels(kind, "store_error").inc()
            raise
        except Exception:
            metrics.turns.labels(kind, "failed").inc()
            raise
        done = time.perf_counter()
        metrics.turns.labels(kind, "ok").inc()
        if kind == "message":
            channel = getattr(getattr(result, "session", None), "latest_input_channel", None)
            metrics.messages.labels(channel or "rest").inc()
        metrics._seen[sender_id] = time.time()
        if "locked" in marks:
            metrics.stage.labels("lock_and_load").observe(marks["locked"] - started)
            metrics.stage.labels("agent").observe(marks["stepped"] - marks["locked"])
            metrics.stage.labels("save").observe(done - marks["stepped"])
        metrics.stage.labels("total").observe(done - started)
        return result
    conversations.run = run


def metrics_api() -> Blueprint:
    bp = Blueprint("formc_metrics")

    @bp.route("/metrics", methods=["GET"])
    async def metrics(request):
        from prometheus_client import CONTENT_TYPE_LATEST
        return response.raw(request.app.ctx.metrics.text(), content_type=CONTENT_TYPE_LATEST)

    return bp
