"""Conversation steps -> Rasa test-story YAML (what `formc shell --record`, `--interactive` and
`formc test`'s failed_test_stories.yml write); `rasa test` and `formc test` read it back.

A step is a dict: {"user": text, "intent": name, "entities": [{entity, value, start, end,
role, group}]}, {"action": name, "predicted": other}, {"slot_was_set": [(name, value)]} or
{"active_loop": name or None}.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Optional

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def name(text: Any) -> str:
    """An intent/action/slot name: bare when YAML reads it back as the same string."""
    text = str(text)
    return text if _PLAIN.match(text) and text.lower() not in _RESERVED else json.dumps(text)


def value(item: Any) -> str:
    """A slot value as a YAML flow scalar (JSON is valid YAML)."""
    return json.dumps(item, ensure_ascii=False)


def marked_up(text: str, entities: Iterable[dict]) -> str:
    """Plain text + entity offsets -> Rasa's inline markup: [text](entity) or
    [text]{"entity": ..., "value": ..., "role": ...} when the value or a role/group differs."""
    spans = sorted((e for e in entities if isinstance(e.get("start"), int)
                    and isinstance(e.get("end"), int) and 0 <= e["start"] < e["end"] <= len(text)),
                   key=lambda e: e["start"])
    out, at = [], 0
    for e in spans:
        if e["start"] < at:
            continue                      # overlapping annotations cannot be written inline
        shown = text[e["start"]:e["end"]]
        extra = {k: e[k] for k in ("role", "group") if e.get(k)}
        if e.get("value") not in (None, shown) or extra:
            body = {"entity": e["entity"], **({"value": e["value"]} if e.get("value") not in (None, shown) else {}), **extra}
            out.append(text[at:e["start"]] + f"[{shown}]" + json.dumps(body, ensure_ascii=False))
        else:
            out.append(text[at:e["start"]] + f"[{shown}]({e['entity']})")
        at = e["end"]
    out.append(text[at:])
    return "".join(out)


def _user(step: dict) -> list[str]:
    lines = []
    text = step.get("user")
    entities = list(step.get("entities") or ())
    if text is not None and text.strip() and text == text.strip() and "\n" not in text:
        lines += ["- user: |-", f"    {marked_up(text, entities)}"]
        if step.get("intent"):
            lines.append(f"  intent: {name(step['intent'])}")
        return lines
    lines.append(f"- intent: {name(step.get('intent') or 'nlu_fallback')}")
    plain = [e for e in entities if e.get("entity")]
    if plain:
        lines.append("  entities:")
        lines += [f"  - {name(e['entity'])}: {value(e.get('value'))}" for e in plain]
    return lines


def step_lines(step: dict) -> list[str]:
    if "user" in step or "intent" in step:
        return _user(step)
    if "action" in step:
        note = f"  # predicted: {step['predicted']}" if step.get("predicted") else ""
        return [f"- action: {name(step['action'])}{note}"]
    if "slot_was_set" in step:
        return ["- slot_was_set:"] + [f"  - {name(n)}: {value(v)}" for n, v in step["slot_was_set"]]
    if "active_loop" in step:
        loop = step["active_loop"]
        return [f"- active_loop: {name(loop) if loop else 'null'}"]
    return []


def story_block(title: str, steps: Iterable[dict], kind: str = "story") -> str:
    lines = [f"- {kind}: {json.dumps(title, ensure_ascii=False)}", "  steps:"]
    for step in steps:
        lines += ["  " + line for line in step_lines(step)]
    return "\n".join(lines) + "\n"


def stories_document(blocks: Iterable[str], section: str = "stories",
                     empty_note: Optional[str] = None) -> str:
    """A whole YAML file of stories (or rules); `empty_note` is written when there are none."""
    blocks = list(blocks)
    if not blocks:
        return f"# {empty_note}\n" if empty_note else f'version: "3.1"\n{section}: []\n'
    return f'version: "3.1"\n{section}:\n' + "\n".join(blocks)
