"""`formc diff OLD NEW`: two machines -> what changed in the machine's terms (states, transitions,
guards, actions, responses, slots, forms, intents, NLU tables), as text or JSON.

Source positions are left out of the comparison: moving a rule down a file is not a change of
the machine. Exit code 0 whether or not anything changed (like `git diff` without --exit-code).
"""

from __future__ import annotations

import json
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
    return result


def is_empty(result: dict) -> bool:
    return not any(s["added"] or s["removed"] or s["changed"] for s in result.values())


def _short(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[:limit - 3] + "..."


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
        lines.extend(f"  + {name}" for name in part["added"])
        lines.extend(f"  - {name}" for name in part["removed"])
        for item in part["changed"]:
            lines.append(f"  ~ {item['name']}")
            for field, change in item["changes"].items():
                if section == "nlu" and field == "value":
                    lines.append("      (changed)")
                    continue
                lines.append(f"      {field}: {_short(change['old'])} -> {_short(change['new'])}")
    return "\n".join(lines)
