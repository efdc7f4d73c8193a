"""`stories:` / `rules:` sections (YAML) and legacy Markdown stories -> model.Story values."""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from .. import model
from ..errors import Reporter, Span
from ..nlu.markup import parse_annotated
from ..yaml_loader import LMap, span_of
from .common import as_bool, child_span, describe, expect_list, expect_map, plain

STEP_KEYS = ("intent", "user", "action", "bot", "slot_was_set", "active_loop", "checkpoint", "or",
             "metadata", "entities")


def _parse_user_text(text: str, span: Optional[Span], rep: Reporter):
    plain_text, entities, diagnostics = parse_annotated(text, span)
    rep.extend(diagnostics)
    return plain_text, entities


class StoryReader:
    def __init__(self, path: str, rep: Reporter, is_test: bool):
        self.path = path
        self.rep = rep
        self.is_test = is_test

    # ------------------------------------------------------------------------------ blocks

    def read_section(self, items: Any, kind: str, span: Span) -> list[model.Story]:
        if items is None:
            return []
        if not expect_list(items, f"'{kind}s'", span, self.rep):
            return []
        out = []
        for index, item in enumerate(items):
            ispan = child_span(items, index, span)
            if not expect_map(item, f"each {kind}", ispan, self.rep, "F420"):
                continue
            story = self.read_block(item, kind)
            if story:
                out.append(story)
        return out

    def read_block(self, item: LMap, kind: str) -> Optional[model.Story]:
        rep = self.rep
        name = item.get(kind)
        if name is None or str(name).strip() == "":
            other = "story" if kind == "rule" else "rule"
            if other in item:
                rep.error("F421", f"a '{other}' entry inside '{kind}s:'", item.key_span(other),
                          f"move it under '{other}s:'")
            else:
                rep.warning("F422", f"a {kind} without a name is skipped", item.span,
                            f"add '{kind}: <name>'")
            return None
        name = str(name)
        span = item.key_span(kind)
        allowed = {kind, "steps", "metadata"} | (
            {"condition", "conversation_start", "wait_for_user_input"} if kind == "rule" else set())
        for key in item:
            if key not in allowed:
                rep.warning("F423", f"unknown key '{key}' in {kind} '{name}' is ignored",
                            item.key_span(key))
        steps_raw = item.get("steps")
        if steps_raw is None:
            rep.warning("F422", f"{kind} '{name}' has no steps and is skipped", span)
            return None
        if not expect_list(steps_raw, f"steps of {kind} '{name}'", span, rep, "F420"):
            return None
        steps = []
        for index, raw in enumerate(steps_raw):
            step = self.read_step(raw, kind, child_span(steps_raw, index, span))
            if step is not None:
                steps.append(step)
        condition = ()
        if kind == "rule" and item.get("condition") is not None:
            raw_cond = item["condition"]
            if expect_list(raw_cond, f"condition of rule '{name}'", span, rep, "F420"):
                cond = []
                for index, raw in enumerate(raw_cond):
                    step = self.read_step(raw, "condition", child_span(raw_cond, index, span))
                    if step is None:
                        continue
                    if not isinstance(step, (model.SlotStep, model.LoopStep)):
                        rep.error("F424", f"a rule condition may only hold 'active_loop' and "
                                  f"'slot_was_set', not {type(step).__name__}",
                                  step.span or span)
                        continue
                    cond.append(step)
                condition = tuple(cond)
        return model.Story(
            kind=kind, name=name, steps=tuple(steps), condition=condition,
            conversation_start=as_bool(item.get("conversation_start"), "conversation_start", span,
                                       rep, False),
            wait_for_user_input=as_bool(item.get("wait_for_user_input"), "wait_for_user_input",
                                        span, rep, True),
            is_test=self.is_test, span=span)

    # ------------------------------------------------------------------------------- steps

    def read_step(self, raw: Any, kind: str, span: Span):
        rep = self.rep
        if not expect_map(raw, f"a step of a {kind}", span, rep, "F420"):
            return None
        span = raw.span
        if "intent" in raw or "user" in raw:
            return self.user_step(raw, span)
        if "action" in raw:
            name = raw["action"]
            if not isinstance(name, str) or not name.strip():
                rep.error("F425", f"'action' needs an action name, found {describe(name)}",
                          raw.value_span("action"))
                return None
            return model.ActionStep(str(name).strip(), span=raw.value_span("action"))
        if "bot" in raw:
            if kind == "rule":
                rep.error("F424", "rules cannot contain 'bot' steps", span)
                return None
            return model.BotStep(str(raw["bot"]), span=span)
        if "slot_was_set" in raw:
            return self.slot_step(raw["slot_was_set"], span)
        if "active_loop" in raw:
            loop = raw["active_loop"]
            return model.LoopStep(str(loop) if loop is not None else None,
                                  span=raw.value_span("active_loop"))
        if "checkpoint" in raw:
            if kind == "rule":
                rep.error("F424", "rules cannot contain checkpoints", span)
                return None
            conditions = ()
            if "slot_was_set" in raw:
                conditions = self.slot_step(raw["slot_was_set"], span).slots
            return model.CheckpointStep(str(raw["checkpoint"]), conditions, span=span)
        if "or" in raw:
            alts_raw = raw["or"]
            if not expect_list(alts_raw, "'or'", span, rep, "F420"):
                return None
            alternatives = []
            for index, alt in enumerate(alts_raw):
                step = self.read_step(alt, kind, child_span(alts_raw, index, span))
                if isinstance(step, (model.UserStep, model.SlotStep)):
                    alternatives.append(step)
                elif step is not None:
                    rep.error("F426", "'or' alternatives must be intents or slot_was_set steps",
                              step.span or span)
            return model.OrStep(tuple(alternatives), span=span) if alternatives else None
        if "metadata" in raw and len(raw) == 1:
            return None
        rep.warning("F427", f"unknown step {sorted(map(str, raw))} is skipped", span,
                    "a step is one of intent, user, action, bot, slot_was_set, active_loop, "
                    "checkpoint, or")
        return None

    def user_step(self, raw: LMap, span: Span) -> Optional[model.UserStep]:
        rep = self.rep
        intent = raw.get("intent")
        if intent is not None:
            intent = str(intent).strip()
            if intent.startswith("/"):
                rep.warning("F428", f"intent '{intent}' written with a leading '/'",
                            raw.value_span("intent"), "write the intent name without '/'")
                intent = intent[1:]
            if "/" in intent and not self.is_test:
                intent = intent.split("/", 1)[0]  # retrieval intents train on the base intent
        text, text_entities = None, ()
        if raw.get("user") is not None:
            text, text_entities = _parse_user_text(str(raw["user"]).strip(),
                                                   raw.value_span("user"), rep)
        entities = []
        raw_entities = raw.get("entities")
        if raw_entities is not None:
            items = raw_entities if isinstance(raw_entities, list) else [raw_entities]
            for index, item in enumerate(items):
                espan = child_span(raw_entities, index, span) if isinstance(raw_entities, list) \
                    else span
                entities.extend(self.step_entities(item, espan))
        if intent is None and text is None:
            rep.error("F429", "a user step needs 'intent' or 'user'", span)
            return None
        return model.UserStep(intent, tuple(entities), text, tuple(text_entities),
                              span=raw.value_span("intent") if "intent" in raw else span)

    def step_entities(self, item: Any, span: Span) -> list[model.StepEntity]:
        if isinstance(item, str):
            return [model.StepEntity(str(item), "")]
        if isinstance(item, dict):
            role = item.get("role")
            group = item.get("group")
            # as Rasa's YAML story reader: one entity per item, named by its key (`entity: name`
            # is an entity called "entity"); of several keys the last one is kept
            named = [(k, v) for k, v in item.items() if k not in ("role", "group")]
            return [model.StepEntity(str(key), plain(value), str(role) if role else None,
                                     str(group) if group else None) for key, value in named[-1:]]
        self.rep.error("F430", f"an entity of a user step must be a name or 'name: value', found "
                       f"{describe(item)}", span)
        return []

    def slot_step(self, raw: Any, span: Span) -> model.SlotStep:
        pairs = []
        items = raw if isinstance(raw, list) else [raw]
        for index, item in enumerate(items):
            ispan = child_span(raw, index, span) if isinstance(raw, list) else span_of(raw, span)
            if isinstance(item, dict):
                for key, value in item.items():
                    pairs.append((str(key), plain(value)))
            elif isinstance(item, str):
                pairs.append((str(item), model.FILLED))
            else:
                self.rep.error("F431", f"slot_was_set items must be 'slot: value' or a slot name, "
                               f"found {describe(item)}", ispan)
        return model.SlotStep(tuple(pairs), span=span_of(raw, span))


def read_stories_yaml(doc: LMap, path: str, rep: Reporter, is_test: bool) -> list[model.Story]:
    """Entry point for one YAML file's `stories:` and `rules:` sections."""
    reader = StoryReader(path, rep, is_test)
    out = reader.read_section(doc.get("stories"), "story", doc.key_span("stories")) \
        if "stories" in doc else []
    if "rules" in doc:
        out += reader.read_section(doc.get("rules"), "rule", doc.key_span("rules"))
    return out


# --------------------------------------------------------------------- Markdown (Rasa 1.x)

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_EVENT_NAMES = {"slot", "form", "active_loop", "restart", "rewind", "undo", "reset_slots", "pause",
                "resume", "followup", "export", "reminder", "cancel_reminder"}


def _split_call(text: str) -> tuple[str, Optional[str]]:
    """`name{json}` -> (name, json text or None)."""
    brace = text.find("{")
    if brace < 0:
        return text.strip(), None
    return text[:brace].strip(), text[brace:]


def read_stories_markdown(text: str, path: str, rep: Reporter, is_test: bool) -> list[model.Story]:
    """Legacy Markdown stories (reference A.2): `## name`, `* intent{..}`, `- action`, `> cp`."""
    text = _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    stories: list[model.Story] = []
    name, steps, start = None, [], None

    def flush():
        if name is not None and steps:
            stories.append(model.Story("story", name, tuple(steps), is_test=is_test, span=start))

    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        span = Span(path, lineno, len(line) - len(line.lstrip()) + 1)
        if not stripped:
            continue
        if stripped.startswith("#"):
            flush()
            name, steps, start = stripped.lstrip("#").strip(), [], span
            continue
        if name is None:
            continue
        if stripped.startswith(">"):
            cp_name, payload = _split_call(stripped[1:])
            conditions = ()
            if payload:
                try:
                    conditions = tuple(json.loads(payload).items())
                except (ValueError, AttributeError):
                    rep.error("F432", "invalid JSON in checkpoint conditions", span)
            steps.append(model.CheckpointStep(cp_name, conditions, span=span))
        elif stripped.startswith("*"):
            body = stripped[1:].strip()
            if body.startswith("form:"):
                continue
            alternatives = [_md_user(part.strip(), span, rep) for part in body.split(" OR ")]
            alternatives = [a for a in alternatives if a]
            if len(alternatives) == 1:
                steps.append(alternatives[0])
            elif alternatives:
                steps.append(model.OrStep(tuple(alternatives), span=span))
        elif stripped.startswith("-"):
            body = stripped[1:].strip()
            if body.startswith("form:"):
                continue
            call, payload = _split_call(body)
            if call in _EVENT_NAMES:
                data = {}
                if payload:
                    try:
                        data = json.loads(payload)
                    except ValueError:
                        rep.error("F432", f"invalid JSON in '{call}' event", span)
                        continue
                if call == "slot" and isinstance(data, dict):
                    steps.append(model.SlotStep(tuple(data.items()), span=span))
                elif call in ("form", "active_loop") and isinstance(data, dict):
                    loop = data.get("name")
                    steps.append(model.LoopStep(str(loop) if loop else None, span=span))
                else:
                    rep.warning("F433", f"event '{call}' in a Markdown story is not supported and "
                                "is skipped", span)
            else:
                steps.append(model.ActionStep(call, span=span))
        else:
            rep.warning("F427", f"line is not a story step and is skipped: {stripped[:40]!r}", span)
    flush()
    return stories


def _md_user(text: str, span: Span, rep: Reporter) -> Optional[model.UserStep]:
    text = text.lstrip("/")
    if ":" in text and "{" not in text.split(":", 1)[0]:  # 1.x e2e: `* intent: text`
        intent, user = text.split(":", 1)
        plain_text, entities = _parse_user_text(user.strip(), span, rep)
        return model.UserStep(intent.strip(), (), plain_text, tuple(entities), span=span)
    call, payload = _split_call(text)
    intent = call.split("@", 1)[0].strip()
    entities = []
    if payload:
        try:
            data = json.loads(payload)
        except ValueError:
            rep.error("F432", "invalid JSON after the intent", span)
            data = {}
        if isinstance(data, dict):
            for key, value in data.items():
                for v in value if isinstance(value, list) else [value]:
                    entities.append(model.StepEntity(str(key), v))
    if not intent:
        return None
    return model.UserStep(intent, tuple(entities), span=span)
