"""Start a real rasa-sdk action server for a tests.actions.<module> package: module -> (webhook url, stop)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from typing import Callable, Optional

from support.serve_helpers import ADDRESS_IN_USE, PYTHON, ROOT, free_port


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/health", timeout=0.5) as reply:
            return reply.status == 200 and json.loads(reply.read()).get("status") == "ok"
    except (OSError, ValueError):
        return False


class _Server:
    """One launched rasa-sdk process (not yet known to be healthy)."""

    def __init__(self, module: str, env: Optional[dict]) -> None:
        self.package = module if "." in module else f"tests.actions.{module}"
        self.env = dict(os.environ)
        self.env.update({"SANIC_HOST": "127.0.0.1", "PYTHONDONTWRITEBYTECODE": "1",
                         "ACTION_SERVER_SANIC_WORKERS": "1"})
        self.env.update(env or {})
        self.retries = 2
        self.launch()

    def launch(self) -> None:
        port = free_port()
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "rasa_sdk", "--actions", self.package, "--port", str(port), "--quiet"],
            cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        self.base = f"http://127.0.0.1:{port}"

    def terminate(self) -> None:
        """Ask the server's process group to stop (does not wait)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        self.terminate()
        try:
            self.proc.wait(3)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()

    def wait_healthy(self, deadline: float) -> str:
        while time.time() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode("utf-8", "replace") if self.proc.stderr else ""
                self.stop()
                if ADDRESS_IN_USE in err and self.retries:   # the free port was taken meanwhile
                    self.retries -= 1
                    self.launch()
                    continue
                raise RuntimeError(f"action server for {self.package} exited early:\n{err[-3000:]}")
            if _healthy(self.base):
                return self.base + "/webhook"
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"action server for {self.package} did not become healthy in time")


def start_action_server(module: str, env: Optional[dict] = None,
                        timeout: float = 30.0) -> tuple[str, Callable[[], None]]:
    """Run `python -m rasa_sdk --actions tests.actions.<module>` on a free loopback port.

    Returns the webhook URL and a `stop()` that kills the server (its whole process group).
    `env` adds environment variables (e.g. FORMC_ACTIONS_TODAY) for the server process.
    """
    server = _Server(module, env)
    return server.wait_healthy(time.time() + timeout), server.stop


def start_action_servers(modules: dict[str, Optional[dict]], timeout: float = 30.0
                         ) -> dict[str, tuple[str, Callable[[], None]]]:
    """Start several servers at once ({module: env}); -> {module: (url, stop)}."""
    servers = {m: _Server(m, env) for m, env in modules.items()}
    deadline = time.time() + timeout

    def stopper(server: _Server) -> Callable[[], None]:
        def stop() -> None:
            for other in servers.values():   # the first stop() terminates all of them at once
                other.terminate()
            server.stop()
        return stop

    started: dict[str, tuple[str, Callable[[], None]]] = {}
    try:
        for module, server in servers.items():
            started[module] = (server.wait_healthy(deadline), stopper(server))
    except Exception:
        for server in servers.values():
            server.terminate()
        for server in servers.values():
            server.stop()
        raise
    return started


def tracker_payload(action: str, *, sender: str = "test-user", slots: Optional[dict] = None,
                    events: Optional[list] = None, latest_message: Optional[dict] = None,
                    active_loop: Optional[str] = None, domain: Optional[dict] = None,
                    input_channel: str = "rest") -> dict:
    """A minimal action-server request (reference §10.1) for smoke tests."""
    latest = latest_message or {"intent": {"name": "greet", "confidence": 1.0},
                                "entities": [], "text": "hi"}
    evts = events if events is not None else [
        {"event": "action", "name": "action_listen"},
        {"event": "user", "text": latest.get("text"), "parse_data": latest,
         "input_channel": input_channel},
    ]
    return {
        "next_action": action,
        "sender_id": sender,
        "tracker": {
            "sender_id": sender,
            "slots": dict(slots or {}),
            "latest_message": latest,
            "latest_event_time": 0.0,
            "followup_action": None,
            "paused": False,
            "events": evts,
            "latest_input_channel": input_channel,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action": {"action_name": "action_listen"},
            "latest_action_name": "action_listen",
        },
        "domain": domain or {},
        "version": "3.6.21",
    }


def post(url: str, payload: dict, timeout: float = 10.0) -> tuple[int, object]:
    """POST JSON with urllib (independent of formc's client) -> (status, parsed body)."""
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def domain_dict(domain) -> dict:
    """A minimal Rasa-3-shaped domain dict (forms with required_slots lists, slots with initial
    values) built from a formc model.Domain — enough for rasa-sdk's FormValidationAction."""
    return {
        "forms": {f.name: {"required_slots": list(f.required_slots)} for f in domain.forms},
        "slots": {s.name: {"type": s.type, "initial_value": s.initial_value} for s in domain.slots},
        "responses": {r.name: list(r.variations) for r in domain.responses},
    }


def initial_slots(domain, **values) -> dict:
    """Every domain slot at its initial value, then `values` (use a dict for hyphenated names)."""
    slots = {s.name: s.initial_value for s in domain.slots}
    slots.update(values)
    return slots


def form_events(form: str, requested, candidates: dict, user: Optional[dict] = None) -> list:
    """Events as Rasa sends them to validate_<form> (§10.1): [user turn,] requested_slot, form, candidates."""
    events = [{"event": "action", "name": "action_listen"}]
    if user is not None:
        events += [{"event": "user", "text": user.get("text"), "parse_data": user},
                   {"event": "action", "name": "action_extract_slots"}]
    events += [{"event": "slot", "name": "requested_slot", "value": requested},
               {"event": "action", "name": form}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in candidates.items()]
    return events
