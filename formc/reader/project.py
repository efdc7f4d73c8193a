"""A bot directory -> model.Project: finds the files, reads each with its reader, merges them."""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from typing import Any, Optional

from .. import model
from ..errors import Diagnostic, Reporter, Span
from ..yaml_loader import MAX_FILE_BYTES, LMap, decode, load_yaml, read_lookup_lines, too_large
from ..nlu.reader import read_nlu_markdown, read_nlu_yaml
from .config import read_config, read_endpoints
from .domain import DOMAIN_KEYS, read_domain, read_responses
from .stories import read_stories_markdown, read_stories_yaml

YAML_EXT = (".yml", ".yaml")
MD_NLU_MARKERS = ("## intent:", "## synonym:", "## regex:", "## lookup:")
SKIP_DIRS = {".git", "__pycache__", "models", "results", ".rasa", "node_modules", ".venv"}


class SourceSet:
    """Reads files once, remembers their bytes for the project digest."""

    def __init__(self, root: str, rep: Reporter):
        self.root = root
        self.rep = rep
        self.digest_parts: dict[str, bytes] = {}

    def rel(self, path: str) -> str:
        return os.path.relpath(path, self.root)

    def shown(self, path: str) -> str:
        return os.path.join(self.root, self.rel(path)) if self.root != "." else self.rel(path)

    def text(self, path: str) -> Optional[str]:
        try:
            with open(path, "rb") as handle:
                data = handle.read(MAX_FILE_BYTES + 1)   # a bigger file is refused unread
        except OSError as exc:
            self.rep.error("F105", f"cannot read file: {exc.strerror}", Span(self.shown(path)))
            return None
        if len(data) > MAX_FILE_BYTES:   # issue 14: refused in milliseconds, not gigabytes
            self.rep.extend([too_large(len(data), self.shown(path))])
            return None
        self.digest_parts[self.rel(path)] = data
        text, diagnostics = decode(data, self.shown(path))
        self.rep.extend(diagnostics)
        return text

    def yaml(self, path: str) -> Any:
        text = self.text(path)
        if text is None:
            return None
        value, diagnostics = load_yaml(text, self.shown(path))
        self.rep.extend(diagnostics)
        return value

    def digest(self) -> str:
        h = hashlib.sha256()
        for rel in sorted(self.digest_parts):
            h.update(rel.replace(os.sep, "/").encode() + b"\0")
            h.update(self.digest_parts[rel] + b"\0")
        return h.hexdigest()


def walk(path: str) -> list[str]:
    """Every file below path, sorted per directory (deterministic, unlike Rasa's OS order)."""
    if os.path.isfile(path):
        return [path]
    out = []
    for current, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
        out.extend(os.path.join(current, f) for f in sorted(files))
    return out


def _find(root: str, *names: str) -> Optional[str]:
    for name in names:
        candidate = os.path.join(root, name)
        if os.path.exists(candidate):
            return candidate
    return None


def read_project(root: str, extra_test_paths: tuple[str, ...] = ()) -> tuple[Optional[model.Project], list[Diagnostic]]:
    """Entry point: read every source file of a bot directory. Never raises on bad input."""
    rep = Reporter()
    if not os.path.isdir(root):
        rep.error("F106", f"bot directory '{root}' does not exist", Span(root),
                  "pass the folder that holds domain.yml, data/ and config.yml")
        return None, rep.diagnostics
    sources = SourceSet(root, rep)
    domain_parts = _read_domain_files(root, sources, rep)
    nlu = model.NluData()
    stories: list[model.Story] = []
    tests: list[model.Story] = []
    data_dir = _find(root, "data")
    for path in walk(data_dir) if data_dir else []:
        data, found = _read_data_file(path, root, sources, rep, is_test=False)
        nlu = nlu.merge(data)
        stories.extend(found)
    # tests/: files named test_* (Rasa's convention); test_stories/ (seen in real bots): all files
    for test_dir in ("tests", "test_stories") + tuple(extra_test_paths):
        full = test_dir if os.path.isabs(test_dir) else os.path.join(root, test_dir)
        if not os.path.exists(full):
            continue
        for path in walk(full):
            if os.path.basename(path).startswith("test_") or test_dir != "tests":
                data, found = _read_data_file(path, root, sources, rep, is_test=True)
                tests.extend(found)
    config_path = _find(root, "config.yml", "config.yaml")
    config = read_config(sources.yaml(config_path) if config_path else None,
                         sources.shown(config_path) if config_path else "config.yml", rep)
    endpoints_path = _find(root, "endpoints.yml", "endpoints.yaml")
    endpoints = read_endpoints(sources.yaml(endpoints_path) if endpoints_path else None,
                               sources.shown(endpoints_path) if endpoints_path else "", rep)
    if not domain_parts:
        rep.error("F107", "no domain found", Span(os.path.join(root, "domain.yml")),
                  "create domain.yml (or a domain/ folder of YAML files)")
    domain = read_domain(domain_parts, rep)
    domain = _complete_domain(domain, nlu, rep)
    domain = replace(domain, e2e_actions=_bot_texts(stories))
    stories = [_resolve_filled(s, domain) for s in stories]
    tests = [_resolve_filled(s, domain) for s in tests]
    project = model.Project(root=root, domain=domain, nlu=nlu, stories=tuple(stories),
                            tests=tuple(tests), config=config, endpoints=endpoints,
                            files=tuple(sorted(sources.digest_parts)), digest=sources.digest())
    return project, rep.diagnostics


def _read_domain_files(root: str, sources: SourceSet, rep: Reporter) -> list[tuple[str, LMap]]:
    single = _find(root, "domain.yml", "domain.yaml")
    paths = [single] if single and os.path.isfile(single) else []
    folder = _find(root, "domain")
    if not paths and folder and os.path.isdir(folder):
        paths = [p for p in walk(folder) if p.endswith(YAML_EXT)]
    parts = []
    for path in paths:
        value = sources.yaml(path)
        if value is None:
            continue
        if not isinstance(value, dict):
            rep.error("F201", "a domain file must be a mapping of sections (intents, slots, ...)",
                      Span(sources.shown(path), 1, 1))
            continue
        if path == single or any(k in value for k in DOMAIN_KEYS):
            parts.append((path, value))
    return parts


def _read_data_file(path: str, root: str, sources: SourceSet, rep: Reporter, is_test: bool):
    """One file of data/ or tests/ -> (NluData, stories); classified by content like Rasa."""
    nlu = model.NluData()
    stories: list[model.Story] = []
    shown = sources.shown(path)
    if path.endswith(YAML_EXT):
        doc = sources.yaml(path)
        if doc is None:
            return nlu, stories
        if not isinstance(doc, dict):
            rep.error("F201", "a training data file must be a mapping (nlu:, rules:, stories:, ...)",
                      Span(shown, 1, 1))
            return nlu, stories
        version = doc.get("version")
        if isinstance(version, str) and _version_tuple(version) > (3, 1):
            rep.warning("F108", f"training data format version '{version}' is newer than 3.1; "
                        "the file is skipped (as Rasa does)", doc.value_span("version"))
            return nlu, stories
        if "nlu" in doc and doc["nlu"] is not None:
            data, diagnostics = read_nlu_yaml(doc["nlu"], shown)
            rep.extend(diagnostics)
            nlu = nlu.merge(data)
        if "responses" in doc:
            nlu = nlu.merge(model.NluData(responses=read_responses(
                doc["responses"], doc.key_span("responses"), rep)))
        if "stories" in doc or "rules" in doc:
            stories = read_stories_yaml(doc, shown, rep, is_test)
    elif path.endswith(".json"):
        text = sources.text(path)
        if text is not None:
            nlu = nlu.merge(read_nlu_json(text, shown, root, rep))
    elif path.endswith(".md"):
        text = sources.text(path)
        if text is None:
            return nlu, stories
        if any(marker in text for marker in MD_NLU_MARKERS):
            data, diagnostics = read_nlu_markdown(text, shown, root)
            rep.extend(diagnostics)
            nlu = nlu.merge(data)
        elif "##" in text:
            stories = read_stories_markdown(text, shown, rep, is_test)
    return nlu, stories


def read_nlu_json(text: str, shown: str, root: str, rep: Reporter) -> model.NluData:
    """Rasa's deprecated JSON NLU format (`rasa_nlu_data`); other JSON files are ignored."""
    import json

    try:
        doc = json.loads(text)
    except ValueError as exc:
        rep.warning("F109", f"JSON file is not valid JSON and is ignored ({exc})", Span(shown))
        return model.NluData()
    data = doc.get("rasa_nlu_data") if isinstance(doc, dict) else None
    if not isinstance(data, dict):
        return model.NluData()
    span = Span(shown, 1, 1)
    examples = []
    for item in data.get("common_examples") or []:
        if not isinstance(item, dict) or not item.get("intent") or "text" not in item:
            continue
        entities = tuple(model.EntityAnnotation(int(e["start"]), int(e["end"]), e.get("value"),
                                                str(e["entity"]), e.get("role"), e.get("group"))
                         for e in item.get("entities") or []
                         if isinstance(e, dict) and {"start", "end", "entity"} <= set(e))
        examples.append(model.NluExample(str(item["text"]), str(item["intent"]), entities, span))
    regexes = tuple(model.RegexDef(str(r["name"]), str(r["pattern"]), span)
                    for r in data.get("regex_features") or []
                    if isinstance(r, dict) and "name" in r and "pattern" in r)
    lookups = []
    for table in data.get("lookup_tables") or []:
        if not isinstance(table, dict) or "name" not in table:
            continue
        elements = table.get("elements") or []
        if isinstance(elements, str):  # a file path: project root first, then the working dir
            path = elements if os.path.isabs(elements) else os.path.join(root, elements)
            if not os.path.exists(path):
                path = elements
            try:
                elements = read_lookup_lines(path)   # size caps (issue 14)
            except (OSError, UnicodeDecodeError) as exc:
                rep.error("F303", f"cannot read lookup file '{table['elements']}': {exc}", span)
                elements = []
        lookups.append(model.LookupDef(str(table["name"]), tuple(map(str, elements)), span))
    synonyms = tuple(model.SynonymDef(str(text), str(s["value"]), span)
                     for s in data.get("entity_synonyms") or []
                     if isinstance(s, dict) and "value" in s for text in s.get("synonyms") or [])
    return model.NluData(tuple(examples), synonyms, regexes, tuple(lookups))


def _version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


def _complete_domain(domain: model.Domain, nlu: model.NluData, rep: Reporter) -> model.Domain:
    """What Rasa's importer adds: NLU-file responses, retrieval flags, default intents."""
    names = {r.name for r in domain.responses}
    responses = domain.responses + tuple(r for r in nlu.responses if r.name not in names)
    retrieval = {ex.intent.split("/", 1)[0] for ex in nlu.examples if "/" in ex.intent}
    retrieval |= {r.name[len("utter_"):].split("/", 1)[0] for r in responses
                  if r.name.startswith("utter_") and "/" in r.name}
    intents = tuple(replace(i, is_retrieval=True) if i.name in retrieval else i
                    for i in domain.intents)
    declared = {i.name for i in intents}
    intents += tuple(model.Intent(name) for name in model.DEFAULT_INTENTS if name not in declared)
    return replace(domain, intents=intents, responses=responses)


def _bot_texts(stories: list[model.Story]) -> tuple[str, ...]:
    texts: set[str] = set()

    def visit(step) -> None:
        if isinstance(step, model.BotStep):
            texts.add(step.text)
        elif isinstance(step, model.OrStep):
            for alternative in step.alternatives:
                visit(alternative)
    for story in stories:
        for step in story.steps:
            visit(step)
    return tuple(sorted(texts))


def _resolve_filled(story: model.Story, domain: model.Domain) -> model.Story:
    def fix(step):
        if isinstance(step, model.SlotStep) and any(v == model.FILLED for _n, v in step.slots):
            pairs = []
            for name, value in step.slots:
                if value == model.FILLED:
                    slot = domain.slot(name)
                    kind = slot.type if slot else "text"
                    value = "filled" if kind == "text" else ["filled"] if kind == "list" else None
                pairs.append((name, value))
            return replace(step, slots=tuple(pairs))
        if isinstance(step, model.OrStep):
            return replace(step, alternatives=tuple(fix(a) for a in step.alternatives))
        return step

    return replace(story, steps=tuple(fix(s) for s in story.steps),
                   condition=tuple(fix(s) for s in story.condition))
