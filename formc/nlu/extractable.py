"""Project NLU data + config -> which entity names the compiled pipeline can extract, and how.

Mirrors what compile_nlu builds: the regex / lookup extractor (patterns only for names
annotated in an example, as Rasa's RegexEntityExtractor), the CRF of CRFEntityExtractor or of
DIETClassifier's entity stand-in (names annotated in an example, when a featurizer makes text
features), DucklingEntityExtractor's dimensions (all of Duckling's when none are listed), and
`/intent{"entity": ...}` payloads of response buttons.
"""

from __future__ import annotations

import json
import re

from ..model import Domain, NluConfig, NluData

DUCKLING_DIMENSIONS = ("amount-of-money", "credit-card-number", "distance", "duration", "email",
                       "number", "ordinal", "phone-number", "quantity", "temperature", "time",
                       "url", "volume")
_PAYLOAD = re.compile(r"^/[^{@]+(?:@[0-9.]+)?(\{.+\})", re.S)


def _names(config: NluConfig) -> set[str]:
    return {p.rsplit(".", 1)[-1] for p in config.pipeline}


def regex_extraction_on(config: NluConfig) -> bool:
    """formc runs its regex / lookup extractor unless a CRF took the pipeline's entities and
    RegexEntityExtractor is not named (then regexes and lookups are CRF features only)."""
    return "RegexEntityExtractor" in _names(config) or not config.entity_crfs


def duckling_dimensions(config: NluConfig) -> set[str]:
    out: set[str] = set()
    for component in config.components:
        if component.name != "DucklingEntityExtractor":
            continue
        try:
            dims = json.loads(component.options).get("dimensions")
        except (ValueError, AttributeError):
            dims = None
        out |= set(map(str, dims)) if isinstance(dims, list) and dims else set(DUCKLING_DIMENSIONS)
    return out


def _payload_entities(domain: Domain) -> set[str]:
    found: set[str] = set()
    for response in domain.responses:
        for variation in response.variations:
            buttons = variation.get("buttons") if isinstance(variation, dict) else None
            for button in buttons if isinstance(buttons, list) else []:
                payload = button.get("payload") if isinstance(button, dict) else None
                m = _PAYLOAD.match(payload) if isinstance(payload, str) else None
                if m:
                    try:
                        found |= set(json.loads(m.group(1)))
                    except (ValueError, TypeError):
                        continue
    return found


def extractable_entities(data: NluData, config: NluConfig, domain: Domain) -> dict:
    """(entity, role, group) -> the first extractor that can produce it; only a CRF gives
    roles and groups (those annotated in an example)."""
    annotated = {(a.entity, a.role, a.group) for ex in data.examples for a in ex.entities}
    names = {a[0] for a in annotated}
    out: dict = {}
    if regex_extraction_on(config):
        if config.use_regexes:
            out.update({(r.name, None, None): "a regex" for r in data.regexes if r.name in names})
        if config.use_lookup_tables:
            out.update({(lk.name, None, None): "a lookup table" for lk in data.lookups
                        if lk.name in names and lk.elements})
    if config.entity_crfs:
        for key in sorted(annotated, key=str):
            out.setdefault(key, "the CRF")
    for name in sorted(duckling_dimensions(config) | _payload_entities(domain)):
        out.setdefault((name, None, None), "Duckling" if name in duckling_dimensions(config)
                       else "button payloads")
    return out
