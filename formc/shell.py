"""`formc shell BOT.fsm [--debug]`: chat with a compiled bot in the terminal.

With --debug every step shows the action taken, why (rule + source span, form, fallback) and
the time spent per stage (NLU, slot extraction, prediction, action)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Optional

from .api import load
from .errors import FormcError


def _show_message(message: dict, out) -> None:
    if message.get("text"):
        print(f"bot> {message['text']}", file=out)
    for button in message.get("buttons") or []:
        print(f"      [{button.get('title')}] -> {button.get('payload')}", file=out)
    for key in ("image", "custom", "attachment"):
        if message.get(key):
            print(f"      {key}: {json.dumps(message[key], ensure_ascii=False)}", file=out)


def run_shell(machine_path: str, debug: bool = False, stdin=None, out=None,
              sender_id: str = "shell") -> int:
    from .runtime.agent import Agent
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    try:
        machine = load(machine_path)
    except FormcError as exc:
        print(exc, file=out)
        return 1
    agent = Agent(machine)
    session = None
    print(f"formc shell - bot '{machine.name}'. Type a message; /stop or Ctrl-D to quit.", file=out)
    while True:
        if stdin is sys.stdin:
            try:
                text = input("you> ")
            except EOFError:
                break
        else:
            line = stdin.readline()
            if not line:
                break
            text = line.rstrip("\n")
        if text.strip() == "/stop":
            break
        t0 = time.perf_counter()
        parse: Optional[dict] = None
        if text.strip():
            parse = machine.nlu.parse(text)
        t_nlu = (time.perf_counter() - t0) * 1e3
        result = asyncio.run(agent.handle_message(session, sender_id, text, parse_data=parse))
        session = result.session
        if debug and parse is not None:
            intent = parse.get("intent") or {}
            ents = ", ".join(f"{e.get('entity')}={e.get('value')!r}" for e in parse.get("entities") or [])
            print(f"  [nlu] {intent.get('name')} ({intent.get('confidence', 0):.3f})"
                  + (f" entities: {ents}" if ents else "") + f"  {t_nlu:.2f} ms", file=out)
        for message in result.messages:
            _show_message(message, out)
        if debug:
            for step in result.trace:
                if "action" in step and step["action"]:
                    flag = " REJECTED" if step.get("rejected") else ""
                    print(f"  [step] {step['action']}{flag} <- {step['why']}  "
                          f"(predict {step['predict_ms']} ms, run {step['run_ms']} ms)", file=out)
                elif step.get("stage"):
                    print(f"  [{step['stage']}] {step['ms']} ms", file=out)
                else:
                    print(f"  [stop] {step.get('why')}", file=out)
            slots = {k: v for k, v in session.slots.items() if v is not None}
            print(f"  [state] loop={session.active_loop} slots={json.dumps(slots, ensure_ascii=False)}",
                  file=out)
    return 0
