"""Record what real Rasa 3.6 does after a corrected action, the way `rasa interactive` drives it
(POST /messages with the parse, POST /predict, POST /execute of the user's action with no policy,
then /predict + /execute until action_listen) -> tests/oracles/shell_interactive/rasa.json.

  RASA_VENV=~/rasa-venv record_interactive.py [--port 5206]
The bot is tests/oracles/shell_interactive/starter_bot (formc init's starter bot; not named `bot/`,
which would make it a conversation oracle), trained and served by record.rasa_server;
tests/test_shell_interactive_live.py compares `formc shell --interactive`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from record import ORACLES, http, rasa_server  # noqa: E402

# case -> turns of (text, intent, the action the user puts first, or None to accept)
CASES = {"utter_after_goodbye": [("bye", "goodbye", "utter_iamabot")],
         "form_after_goodbye": [("bye", "goodbye", "callback_form"), ("Ada Lovelace", "inform", None)]}
MAX_PREDICTIONS = 10        # Rasa's own bound on actions after one message


def _best(base: str, cid: str) -> dict:
    answer = http(f"{base}/conversations/{cid}/predict", {})
    best = max(answer["scores"], key=lambda s: s["score"])["action"]
    return {"action": best, "policy": answer["policy"], "confidence": answer["confidence"]}


def _predict_on(base: str, cid: str, log: list) -> None:
    for _ in range(MAX_PREDICTIONS):
        step = _best(base, cid)
        log.append({"predicted": step["action"], "policy": step["policy"],
                    "confidence": step["confidence"]})
        http(f"{base}/conversations/{cid}/execute", {"name": step["action"], "policy": step["policy"],
                                                      "confidence": step["confidence"]})
        if step["action"] == "action_listen":
            return


def _case(base: str, turns: list) -> dict:
    cid, log = uuid.uuid4().hex, []
    for text, intent, corrected in turns:
        parse = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
        http(f"{base}/conversations/{cid}/messages", {"sender": "user", "text": text,
                                                       "parse_data": parse})
        if corrected:
            log.append({"would_predict": _best(base, cid)["action"]})
            http(f"{base}/conversations/{cid}/execute", {"name": corrected, "policy": None,
                                                          "confidence": None})
            log.append({"executed": corrected})
        _predict_on(base, cid, log)
    tracker = http(f"{base}/conversations/{cid}/tracker")
    return {"turns": [list(t) for t in turns], "steps": log,
            "slots": {k: v for k, v in sorted(tracker["slots"].items()) if v is not None},
            "active_loop": (tracker.get("active_loop") or {}).get("name")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=5206)
    port = ap.parse_args().port
    scratch = tempfile.mkdtemp(prefix="formc-interactive-oracle-")
    os.makedirs(os.path.join(scratch, "shell_interactive"))
    os.symlink(os.path.join(ORACLES, "shell_interactive", "starter_bot"),
               os.path.join(scratch, "shell_interactive", "bot"))
    os.environ["FORMC_ORACLE_WORK"] = scratch      # where rasa_server looks for a bot not in ORACLES
    with rasa_server("shell_interactive", port, port + 50) as (base, _status):
        out = {name: _case(base, turns) for name, turns in CASES.items()}
    with open(os.path.join(ORACLES, "shell_interactive", "rasa.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
