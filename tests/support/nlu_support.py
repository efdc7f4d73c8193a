"""Test helpers for the NLU tests: read a bot's NLU data and domain names with formc's readers."""

from __future__ import annotations

import glob
import os

from formc.model import Domain, Entity, Intent, NluData, NluConfig
from formc.errors import Reporter
from formc.nlu.reader import read_nlu_markdown, read_nlu_yaml
from formc.reader.config import read_config
from formc.yaml_loader import load_yaml_file

from support.shared_paths import CORPUS, ORACLE, RASA_RESTAURANT, RESTAURANT  # noqa: F401 (re-exported)


def read_bot_nlu(root: str) -> tuple[NluData, list]:
    data, diags = NluData(), []
    files = sorted(glob.glob(os.path.join(root, "data", "**", "*"), recursive=True))
    for path in files:
        if path.endswith((".yml", ".yaml")):
            value, d = load_yaml_file(path)
            diags += d
            if isinstance(value, dict) and value.get("nlu") is not None:
                part, d = read_nlu_yaml(value["nlu"], path)
                data, diags = data.merge(part), diags + d
        elif path.endswith(".md"):
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
            if any(f"## {k}:" in text for k in ("intent", "synonym", "regex", "lookup")):
                part, d = read_nlu_markdown(text, path, root)
                data, diags = data.merge(part), diags + d
    return data, diags


def read_domain_names(root: str) -> Domain:
    """Intents and entities of a bot's domain (names only) - enough for the NLU."""
    paths = [os.path.join(root, "domain.yml")]
    if not os.path.exists(paths[0]):
        paths = sorted(glob.glob(os.path.join(root, "domain", "**", "*.yml"), recursive=True))
    intents, entities = [], []
    for path in paths:
        value, _ = load_yaml_file(path)
        if not isinstance(value, dict):
            continue
        for i in value.get("intents") or []:
            intents.append(Intent(next(iter(i)) if isinstance(i, dict) else str(i)))
        for e in value.get("entities") or []:
            entities.append(Entity(next(iter(e)) if isinstance(e, dict) else str(e)))
    return Domain(intents=tuple(intents), entities=tuple(entities))


def read_bot_config(root: str) -> NluConfig:
    """The bot's own config.yml as formc reads it (Rasa's defaults when there is none)."""
    path = os.path.join(root, "config.yml")
    if not os.path.exists(path):
        return NluConfig()
    value, _ = load_yaml_file(path)
    return read_config(value, path, Reporter()).nlu


LIGHT = NluConfig(language="en", fallback_threshold=0.7, ambiguity_threshold=0.1)
