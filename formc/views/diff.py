"""`formc diff OLD NEW`: two machines -> what changed in the machine's terms (states, transitions,
guards, actions, responses, slots, forms, intents, NLU tables), as text or JSON.

Source positions are left out of the comparison: moving a rule down a file is not a change of
the machine. `formc diff` exits 1 when the machines differ (as `diff` does, so CI can gate on
it). A changed response text shows the changed part, an added transition its guard, actions and
source line; given the bots' sources, NLU changes are told as which intents' examples changed
and which example texts now classify differently.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..artifact import to_data

SECTIONS = ("states", "transitions", "intents", "entities", "slots", "forms", "responses",
            "actions", "nlu")


def _plain(value: Any) -> Any:
    """JSON-able value without source spans (a moved line is not a change)."""
    data = to_data(value)
    return _strip(data)


def _strip(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _strip(v) for k, v in sorted(data.items()) if k != "span"}
    if isinstance(data, list):
        return [_strip(v) for v in data]
    return data


def _keyed(items, key: str = "name") -> dict[str, dict]:
    out = {}
    for item in items:
        data = _plain(item)
        if isinstance(data, dict):
            out[str(data.get(key, getattr(item, key, "")))] = data
    return out


def _compare(old: dict, new: dict) -> dict:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    changed = []
    for name in sorted(set(old) & set(new)):
        a, b = old[name], new[name]
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            fields = {k: {"old": a.get(k), "new": b.get(k)}
                      for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
        else:
            fields = {"value": {"old": a, "new": b}}
        changed.append({"name": name, "changes": fields})
    return {"added": added, "removed": removed, "changed": changed}


def _nlu_tables(nlu: dict) -> dict[str, Any]:
    """The NLU model's tables, one level down: synonyms entry by entry, lists item by item, the
    rest (trained weights) compared as wholes."""
    out: dict[str, Any] = {}
    for key, value in sorted((nlu or {}).items()):
        if isinstance(value, dict) and key in ("synonyms",):
            for k, v in value.items():
                out[f"{key}:{k}"] = v
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            for v in value:
                out[f"{key}:{v}"] = True
        elif isinstance(value, dict):
            for k, v in value.items():
                out[f"{key}.{k}"] = v
        else:
            out[key] = value
    return out


def diff_machines(old: Any, new: Any) -> dict:
    """Pure: two machines -> {section: {added, removed, changed}}."""
    od, nd = old.dialogue, new.dialogue
    result = {
        "states": _compare(_keyed(od.states, "id"), _keyed(nd.states, "id")),
        "transitions": _compare(
            {k: {f: v for f, v in t.items() if f not in ("span", "why")} for k, t in
             _keyed([t.to_json() for t in od.transitions], "id").items()},
            {k: {f: v for f, v in t.items() if f not in ("span", "why")} for k, t in
             _keyed([t.to_json() for t in nd.transitions], "id").items()}),
        "intents": _compare(_keyed(old.domain.intents), _keyed(new.domain.intents)),
        "entities": _compare(_keyed(old.domain.entities), _keyed(new.domain.entities)),
        "slots": _compare(_keyed(old.domain.slots), _keyed(new.domain.slots)),
        "forms": _compare(_keyed(old.domain.forms), _keyed(new.domain.forms)),
        "responses": _compare(_keyed(old.domain.responses), _keyed(new.domain.responses)),
        "actions": _compare(_keyed(old.domain.actions), _keyed(new.domain.actions)),
        "nlu": _compare(_nlu_tables(old.nlu_data), _nlu_tables(new.nlu_data)),
    }
    result["transitions"]["details"] = {
        t.id: {"guard": t.guard or {}, "actions": list(t.actions), "why": t.why,
               "span": str(t.span) if t.span else ""}
        for t in nd.transitions if t.id in set(result["transitions"]["added"])}
    return result


def project_texts(project: Any) -> tuple[list, list]:
    """A bot's NLU examples as (intent, text) and every text worth classifying (examples and
    the user texts of its test stories)."""
    examples = [(e.intent, e.text) for e in project.nlu.examples]
    texts = [t for _i, t in examples]
    for story in project.tests:
        texts += [step.text for step in story.steps if getattr(step, "text", None)]
    return examples, texts


def nlu_changes(old: Any, new: Any, old_examples: list, new_examples: list,
                texts: list[str], limit: int = 20) -> dict:
    """Which intents' examples changed ({intent: {added, removed}}), and which of `texts` (the
    bots' example and test texts) the new NLU classifies differently from the old one."""
    def per_intent(examples):
        out: dict[str, set] = {}
        for intent, text in examples:
            out.setdefault(intent, set()).add(text)
        return out
    a, b = per_intent(old_examples), per_intent(new_examples)
    intents = {}
    for intent in sorted(set(a) | set(b)):
        added, removed = b.get(intent, set()) - a.get(intent, set()), a.get(intent, set()) - b.get(intent, set())
        if added or removed:
            intents[intent] = {"added": len(added), "removed": len(removed)}
    differ = []
    for text in sorted(set(texts)):
        was = (old.nlu.parse(text).get("intent") or {}).get("name")
        now = (new.nlu.parse(text).get("intent") or {}).get("name")
        if was != now:
            differ.append({"text": text, "old": was, "new": now})
    return {"intents_changed": intents, "texts_checked": len(set(texts)),
            "classify_differently": len(differ), "examples": differ[:limit]}


def is_empty(result: dict) -> bool:
    return not any(result[s]["added"] or result[s]["removed"] or result[s]["changed"]
                   for s in SECTIONS if s in result)


def _short(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 3] + "..."


# NLU tables that are trained weights: a change is "the intent model was retrained", said once.
_WEIGHTS = ("scorer.coef", "scorer.intercept", "scorer.iterations", "scorer.count_vectors")


def changed_part(old: str, new: str, context: int = 3) -> str:
    """Two texts -> the words that differ, with a few words of context: 'ctx [-old-]{+new+} ctx'
    (long unchanged runs shortened to '...')."""
    import difflib
    a, b = re.findall(r"\s+|\S+", old), re.findall(r"\s+|\S+", new)
    out = []
    codes = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    for n, (op, i1, i2, j1, j2) in enumerate(codes):
        if op == "equal":
            run = a[i1:i2]
            words = 2 * context         # tokens include the spaces between words
            head = run[:words] if n > 0 else []
            tail = run[-words:] if n < len(codes) - 1 else []
            if len(run) > len(head) + len(tail):
                out.append("".join(head) + ("..." if head or tail else "") + "".join(tail))
            else:
                out.append("".join(run))
            continue
        if i2 > i1:
            out.append("[-" + "".join(a[i1:i2]) + "-]")
        if j2 > j1:
            out.append("{+" + "".join(b[j1:j2]) + "+}")
    return "".join(out)


def _response_lines(change: dict) -> list[str]:
    olds, news = change.get("old") or [], change.get("new") or []
    lines = []
    for i in range(max(len(olds), len(news))):
        a = olds[i] if i < len(olds) else None
        b = news[i] if i < len(news) else None
        if a == b:
            continue
        if a is None or b is None:
            lines.append(f"      variation {i + 1} {'added' if a is None else 'removed'}: "
                         f"{_short(b if a is None else a)}")
        elif isinstance(a.get("text"), str) and isinstance(b.get("text"), str) \
                and a.get("text") != b.get("text"):
            lines.append(f"      variation {i + 1} text: {changed_part(a['text'], b['text'])}")
        if a is not None and b is not None:
            rest = sorted(k for k in set(a) | set(b) if k != "text" and a.get(k) != b.get(k))
            lines += [f"      variation {i + 1} {k}: {_short(a.get(k))} -> {_short(b.get(k))}"
                      for k in rest]
    return lines


def _added_transition(tid: str, details: dict) -> list[str]:
    from .graph import describe_guard
    info = details.get(tid)
    if not info:
        return [f"  + {tid}"]
    trigger, guard = describe_guard(info["guard"])
    when = " ".join(p for p in (f"on {trigger}" if trigger else "", f"[{guard}]" if guard else "")
                    if p) or "always"
    return [f"  + {tid}", f"      {when}; runs {', '.join(info['actions']) or '(no action)'}",
            f"      {info['why']}" + (f"  ({info['span']})" if info["span"] else "")]


def _nlu_lines(part: dict, examples: dict | None) -> list[str]:
    lines = [f"  + {name}" for name in part["added"]] + [f"  - {name}" for name in part["removed"]]
    retrained = [c for c in part["changed"] if c["name"] in _WEIGHTS]
    for item in part["changed"]:
        if item["name"] not in _WEIGHTS:
            lines.append(f"  ~ {item['name']}")
    if retrained:
        lines.append("  ~ the intent model was retrained")
    if examples:
        changed = examples["intents_changed"]
        if changed:
            lines.append("    examples changed for: " + ", ".join(
                f"{i} (+{c['added']} -{c['removed']})" for i, c in changed.items()))
        lines.append(f"    {examples['classify_differently']} of {examples['texts_checked']} "
                     "example and test texts now classify differently")
        lines += [f"      {e['text']!r}: {e['old']} -> {e['new']}" for e in examples["examples"]]
    elif retrained:
        lines.append("    (pass the bot directories to see which intents' examples changed)")
    return lines


def format_diff(result: dict, old_name: str = "old", new_name: str = "new") -> str:
    lines = [f"--- {old_name}", f"+++ {new_name}"]
    if is_empty(result):
        lines.append("no differences in the machine")
        return "\n".join(lines)
    for section in SECTIONS:
        part = result[section]
        if not (part["added"] or part["removed"] or part["changed"]):
            continue
        lines.append(f"{section}: {len(part['added'])} added, {len(part['removed'])} removed, "
                     f"{len(part['changed'])} changed")
        if section == "nlu":
            lines += _nlu_lines(part, result.get("nlu_examples"))
            continue
        for name in part["added"]:
            lines += (_added_transition(name, part.get("details") or {})
                      if section == "transitions" else [f"  + {name}"])
        lines.extend(f"  - {name}" for name in part["removed"])
        for item in part["changed"]:
            lines.append(f"  ~ {item['name']}")
            for field, change in item["changes"].items():
                if section == "responses" and field == "variations":
                    lines += _response_lines(change)
                    continue
                lines.append(f"      {field}: {_short(change['old'])} -> {_short(change['new'])}")
    return "\n".join(lines)
