"""`formc shell BOT.fsm [--debug] [--record FILE] [--interactive FILE]`: chat with a compiled bot
in the terminal.

Buttons are numbered and picked by typing the number, as in `rasa shell`. With --debug every
step is printed in the order it happened: the NLU result, then each action with why it ran
(rule + source span, form, fallback) and its timings, and the bot's messages right after the
action that sent them. --record writes the conversation, after every turn, as a Rasa test story
(`formc test BOT FILE` and `rasa test --stories FILE` both read it). --interactive asks after
every turn whether the intent and the actions were right, as `rasa interactive` does: a corrected
action runs in the live conversation and the bot goes on from it (formc.workflow.interactive);
the corrected conversation is written as a training story to the file given."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, Callable, Optional

from .api import load
from .errors import FormcError


def _show_message(message: dict, out, buttons: list) -> None:
    if message.get("text"):
        print(f"bot> {message['text']}", file=out)
    for button in message.get("buttons") or []:
        buttons.append(button)
        print(f"      {len(buttons)}: {button.get('title')} ({button.get('payload')})", file=out)
    for key in ("image", "custom", "attachment"):
        if message.get(key):
            print(f"      {key}: {json.dumps(message[key], ensure_ascii=False)}", file=out)


def _bot_message(ev: dict) -> dict:
    return {"text": ev.get("text"), **(ev.get("data") or {})}


class Shell:
    """One terminal conversation: reads lines, runs turns, prints, records."""

    def __init__(self, machine: Any, out, debug: bool = False, record: Optional[str] = None,
                 interactive: Optional[str] = None, sender_id: str = "shell") -> None:
        from .runtime.agent import Agent
        self.machine, self.out, self.debug = machine, out, debug
        self.record, self.interactive, self.sender_id = record, interactive, sender_id
        self.agent = Agent(machine)
        self.session = None
        self.buttons: list = []          # the latest message's buttons, numbered from 1
        self.events: list = []           # every event logged, for --record
        self.corrected: list = []        # --interactive: the story with the user's corrections

    def say(self, text: str) -> None:
        print(text, file=self.out)

    def user_text(self, text: str) -> str:
        """A number picks a button of the last bot message (its payload is sent), as rasa shell."""
        stripped = text.strip()
        if stripped.isdigit() and 1 <= int(stripped) <= len(self.buttons):
            return str(self.buttons[int(stripped) - 1].get("payload") or stripped)
        return text

    async def turn(self, text: str, parse: Optional[dict] = None):
        started = time.perf_counter()
        if parse is None and text.strip():
            parse = self.machine.nlu.parse(text)
        t_nlu = (time.perf_counter() - started) * 1e3
        result = await self.agent.handle_message(self.session, self.sender_id, text,
                                                 parse_data=parse)
        return result, parse, t_nlu

    def show(self, result, parse: Optional[dict], t_nlu: float) -> None:
        self.buttons = []
        if not self.debug:
            for message in result.messages:
                _show_message(message, self.out, self.buttons)
            return
        if parse is not None:
            intent = parse.get("intent") or {}
            ents = ", ".join(f"{e.get('entity')}={e.get('value')!r}" for e in parse.get("entities") or [])
            print(f"  [nlu] {intent.get('name')} ({intent.get('confidence', 0) or 0:.3f})"
                  + (f" entities: {ents}" if ents else "") + f"  {t_nlu:.2f} ms", file=self.out)
        self._show_in_order(result)
        slots = {k: v for k, v in result.session.slots.items() if v is not None}
        print(f"  [state] loop={result.session.active_loop} "
              f"slots={json.dumps(slots, ensure_ascii=False)}", file=self.out)

    def _show_in_order(self, result) -> None:
        """Trace steps and bot messages interleaved as they happened: each action's step line,
        then the messages it sent (the events carry the order, the trace the reasons)."""
        steps = [s for s in result.trace if "action" in s and s["action"]]
        stages = [s for s in result.trace if s.get("stage")]
        for stage in stages:
            if stage["stage"] != "turn":
                print(f"  [{stage['stage']}] {stage['ms']} ms", file=self.out)
        for ev in result.events:
            kind = ev.get("event")
            if kind in ("action", "action_execution_rejected") and steps \
                    and steps[0]["action"] == ev.get("name"):
                step = steps.pop(0)
                flag = " REJECTED" if step.get("rejected") else ""
                print(f"  [step] {step['action']}{flag} <- {step['why']}  "
                      f"(predict {step['predict_ms']} ms, run {step['run_ms']} ms)", file=self.out)
            elif kind == "bot":
                _show_message(_bot_message(ev), self.out, self.buttons)
        for step in steps:
            print(f"  [step] {step['action']} <- {step['why']}", file=self.out)
        for step in result.trace:
            if "action" in step and not step["action"]:
                print(f"  [stop] {step.get('why')}", file=self.out)
        for stage in stages:
            if stage["stage"] == "turn":
                print(f"  [turn] {stage['ms']} ms", file=self.out)

    def save_record(self) -> None:
        from .workflow.record import steps_from_events
        from .workflow.stories_yaml import stories_document, story_block
        steps = steps_from_events(self.events, with_text=True)
        block = story_block(f"recorded in formc shell ({self.machine.name})", steps)
        _write(self.record, stories_document([block]))

    async def close(self) -> None:
        client = self.agent.action_client
        if client is not None and hasattr(client, "close"):
            await client.close()


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


async def _chat(shell: Shell, read_line: Callable[[], Optional[str]]) -> None:
    from .workflow.interactive import review_turn
    while True:
        line = read_line()
        if line is None or line.strip() == "/stop":
            break
        text = shell.user_text(line)
        before = shell.session
        result, parse, t_nlu = await shell.turn(text)
        shell.show(result, parse, t_nlu)
        if shell.interactive:
            result = await review_turn(shell, before, text, result, read_line)
        shell.session = result.session
        shell.events.extend(result.events)
        if shell.record:
            shell.save_record()


def run_shell(machine_path: str, debug: bool = False, stdin=None, out=None,
              sender_id: str = "shell", record: Optional[str] = None,
              interactive: Optional[str] = None) -> int:
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    try:
        machine = load(machine_path)
    except FormcError as exc:
        print(exc, file=out)
        return 1
    shell = Shell(machine, out, debug, record, interactive, sender_id)
    print(f"formc shell - bot '{machine.name}'. Type a message; /stop or Ctrl-D to quit.", file=out)

    def read_line(prompt: str = "you> ") -> Optional[str]:
        if stdin is sys.stdin:
            try:
                return input(prompt)
            except EOFError:
                return None
        line = stdin.readline()
        return line.rstrip("\n") if line else None

    async def main() -> None:
        try:
            await _chat(shell, read_line)
        finally:
            await shell.close()       # no "Unclosed client session" after custom actions ran

    asyncio.run(main())
    if record:
        print(f"recorded the conversation as a test story in {record}", file=out)
    return 0
