"""Record real Rasa 3.6 conversations: tests/oracles/<bot>/{bot/, conversations.json} -> <bot>/<id>.json.

  record.py <bot> [--port 5105] [--action-port 5155] [--only ID ...]
Copies the stored bot to a scratch dir, trains it with Rasa 3.6 (`rasa train`, light config, no
cache), serves it on 127.0.0.1 (plus our rasa-sdk action server for bots listed in ACTIONS), replays
each scripted conversation over the REST channel with a fresh sender and reads the tracker
(`include_events=ALL`) after every turn (Rasa 3.6 drops earlier sessions from a saved tracker). Each record keeps, per turn: user, bot (texts), replies (REST payloads), nlu
(intent, intent_ranking, entities of Rasa's parse) and sequence (compact events of that turn, the
same form as ../shared/rasa-baseline/capture_oracle.py); plus prelude, final_slots,
final_active_loop. Every server started here is stopped by its PID (process group).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ORACLES = os.path.join(ROOT, "tests", "oracles")
sys.path.insert(0, os.path.join(ROOT, "tests"))
from support.runtime_helpers import compact  # noqa: E402  (the form the conformance test compares)
RASA_VENV = os.environ.get("RASA_VENV", "/tmp/rasa-venv")
LONG_MESSAGE = ("could you please help me with something i have been wondering about for a while "
                * 120).strip()
ACTIONS = {"formbot": "tests.actions.formbot",   # bot -> rasa-sdk actions package (our code)
           "actions2": "tests.actions.actions2",
           "helpdesk": "tests.actions.helpdesk_assistant",
           "actions3": "tests.actions.actions3",
           "actions4": "tests.actions.actions4",
           "actions5": "tests.actions.actions5"}


def http(url: str, data=None):
    req = urllib.request.Request(url, data=json.dumps(data).encode() if data is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as reply:
        return json.loads(reply.read())


def nlu_of(parse: dict) -> dict:
    keep = ("entity", "value", "start", "end", "extractor", "role", "group", "processors")
    return {"intent": parse.get("intent"),
            "intent_ranking": parse.get("intent_ranking") or [],
            "entities": [{k: e[k] for k in keep if k in e} for e in parse.get("entities") or []]}


def new_events(prev: list, now: list) -> list:
    """Events added by one turn. Rasa 3.6 keeps only the last session of a tracker when it saves a
    turn, so after a restart / session start the stored history may lose its head: `now` is then a
    suffix of `prev` (from a session start) followed by the new events."""
    for cut in range(len(prev) + 1):
        rest = prev[cut:]
        if now[:len(rest)] == rest:
            return now[len(rest):]
    return now


def attach(turn: dict, events: list, first: bool) -> list:
    """Fill turn nlu/sequence from the turn's events; -> the prelude (first turn only)."""
    seq = [compact(e) for e in events]
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    prelude = []
    if not users:                 # Rasa logged no user event (e.g. an empty message)
        turn["nlu"] = None
        turn["sequence"] = []
        return seq if first else []
    turn["nlu"] = nlu_of(events[users[0]].get("parse_data") or {})   # after a session start too
    if first:
        prelude, seq = seq[:users[0]], seq[users[0]:]
    turn["sequence"] = seq
    return prelude


def split_wait(message: str) -> tuple[float, str]:
    """`__WAIT_<seconds>__text`: wait that long before sending text (session expiry scripts)."""
    if message.startswith("__WAIT_"):
        seconds, _, rest = message[len("__WAIT_"):].partition("__")
        return float(seconds), rest
    return 0.0, message


def resolve(message: str, buttons: list) -> str:
    """Script placeholders: __LONG__ (a ~10 kB text), __BUTTON<n>__ (payload of the n-th button
    of the latest reply that had buttons, e.g. the two-stage fallback's affirmation question)."""
    if message == "__LONG__":
        return LONG_MESSAGE
    if message.startswith("__BUTTON") and message.endswith("__"):
        n = int(message[8:-2])
        if n >= len(buttons):
            raise SystemExit(f"script error: {message} but the latest replies had {len(buttons)} button(s)")
        return buttons[n]["payload"]
    return message


def wait_status(base: str, proc: subprocess.Popen, timeout: float = 300) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server {base} exited with {proc.returncode}")
        try:
            status = http(base + "/status")
            if status.get("model_file"):
                return status
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{base} not ready")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def rasa_server(bot: str, port: int, action_port: int):
    """Train tests/oracles/<bot> with real Rasa 3.6 and serve it (plus our action server for bots
    in ACTIONS); yields (base URL, GET /status). Everything started here is stopped after."""
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", RASA_MAX_CACHE_SIZE="0",
               SQLALCHEMY_SILENCE_UBER_WARNING="1")
    work = tempfile.mkdtemp(prefix=f"oracle-{bot}-")
    procs = []
    log = open(os.path.join(work, "server.log"), "w")
    try:
        own = os.path.join(ORACLES, bot, "bot")
        source = own if os.path.isdir(own) else os.path.join(
            os.environ.get("FORMC_ORACLE_WORK", "/tmp/formc-oracle-bots"), bot, "bot")
        shutil.copytree(source, os.path.join(work, "bot"))
        bot_dir = os.path.join(work, "bot")
        with open(os.path.join(bot_dir, "endpoints.yml"), "w") as f:
            if bot in ACTIONS:
                f.write(f"action_endpoint:\n  url: http://127.0.0.1:{action_port}/webhook\n")
        t0 = time.time()
        # Rasa reads a domain folder only when told (formc finds it by itself)
        split_domain = (["--domain", "domain"] if os.path.isdir(os.path.join(bot_dir, "domain"))
                        and not os.path.exists(os.path.join(bot_dir, "domain.yml")) else [])
        subprocess.run([os.path.join(RASA_VENV, "bin", "rasa"), "train", "--fixed-model-name", "x",
                        "--out", os.path.join(work, "models"), *split_domain], cwd=bot_dir, env=env, check=True,
                       stdout=log, stderr=subprocess.STDOUT)
        print(f"{bot}: trained in {time.time() - t0:.0f} s")
        if bot in ACTIONS:
            procs.append(subprocess.Popen(
                [os.path.join(RASA_VENV, "bin", "python"), "-m", "rasa_sdk", "--actions", ACTIONS[bot],
                 "--port", str(action_port)], cwd=ROOT, env=dict(env, SANIC_HOST="127.0.0.1"),
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        procs.append(subprocess.Popen(
            [os.path.join(RASA_VENV, "bin", "rasa"), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(port),
             "-m", os.path.join(work, "models", "x.tar.gz"), "--endpoints", "endpoints.yml"],
            cwd=bot_dir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        base = f"http://127.0.0.1:{port}"
        yield base, wait_status(base, procs[-1])
    finally:
        for proc in reversed(procs):
            stop(proc)
        log.close()
        print("scratch + server log:", work)


def record(bot: str, port: int, action_port: int, only: list) -> None:
    with rasa_server(bot, port, action_port) as (base, status):
        version = http(base + "/version")
        convs = json.load(open(os.path.join(ORACLES, bot, "conversations.json")))
        index = {"bot": bot, "rasa": version, "model_fingerprint": status.get("fingerprint"),
                 "long_message": LONG_MESSAGE, "conversations": []}
        for conv in convs:
            if only and conv["id"] not in only:
                continue
            sender = f"oracle-{bot}-{conv['id']}-{uuid.uuid4().hex[:6]}"
            turns, last_buttons, prev, prelude, tracker = [], [], [], [], {}
            for m in conv["messages"]:
                wait, m = split_wait(m)
                time.sleep(wait)
                text = resolve(m, last_buttons)
                body = http(base + "/webhooks/rest/webhook", {"sender": sender, "message": text})
                turn = {"user": m if m == "__LONG__" else text, "bot": [r.get("text") for r in body],
                        "replies": [{k: v for k, v in r.items() if k != "recipient_id"} for r in body]}
                if wait:
                    turn["wait"] = wait
                # the tracker after every turn: a later turn may drop earlier sessions from it
                tracker = http(f"{base}/conversations/{sender}/tracker?include_events=ALL")
                events = tracker.get("events") or []
                prelude += attach(turn, new_events(prev, events), not turns)
                prev = events
                turns.append(turn)
                last_buttons = [b for r in body for b in r.get("buttons") or []] or last_buttons
            out = {"id": conv["id"], "description": conv["description"], "bot": bot,
                   "messages": conv["messages"], "turns": turns, "prelude": prelude,
                   "final_slots": tracker.get("slots"), "final_active_loop": tracker.get("active_loop")}
            with open(os.path.join(ORACLES, bot, conv["id"] + ".json"), "w") as f:
                json.dump(out, f, indent=1, ensure_ascii=False)
                f.write("\n")
            index["conversations"].append(conv["id"])
            print(conv["id"], [t["bot"] for t in turns])
        if not only:
            with open(os.path.join(ORACLES, bot, "index.json"), "w") as f:
                json.dump(index, f, indent=1, ensure_ascii=False)
                f.write("\n")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("bot")
    ap.add_argument("--port", type=int, default=5105)
    ap.add_argument("--action-port", type=int, default=5155)
    ap.add_argument("--only", nargs="*", default=[])
    a = ap.parse_args()
    record(a.bot, a.port, a.action_port, a.only)
