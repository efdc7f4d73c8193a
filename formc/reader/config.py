"""config.yml and endpoints.yml -> model.Config / model.Endpoints (Rasa defaults where absent)."""

from __future__ import annotations

import json
from typing import Any

from .. import model
from ..errors import Reporter, Span
from ..nlu.tokenize import CJK_MODES, cjk_mode
from .common import as_bool, as_number, describe, expect_map, plain

CJK_LANGUAGES = ("zh", "ja", "ko", "th")
# components whose whole option map the NLU compiler reads (model.NluConfig.components)
WHOLE_COMPONENTS = ("JiebaTokenizer", "DucklingEntityExtractor")


def _component_name(entry: Any) -> str:
    name = str(entry.get("name", "")) if isinstance(entry, dict) else str(entry)
    return name.rsplit(".", 1)[-1]  # module paths (custom.module.Class) -> Class


def _df(value: Any, what: str, span, rep: Reporter, default):
    """sklearn's min_df / max_df: an int counts documents, a float is a share of them."""
    number = as_number(value, what, span, rep, default)
    return int(number) if isinstance(number, int) and not isinstance(number, bool) else float(number)


def _whole(component: Any) -> model.ComponentOptions:
    """A WHOLE_COMPONENTS entry as written, with the span of each option's value."""
    return model.ComponentOptions(
        _component_name(component), json.dumps(plain(component), sort_keys=True, default=str),
        component.span, tuple((str(k), component.value_span(k)) for k in component))


def read_config(doc: Any, path: str, rep: Reporter) -> model.Config:
    if doc is None:
        return model.Config()
    if not expect_map(doc, "config.yml", Span(path), rep):
        return model.Config()
    language = str(doc.get("language") or "en")
    pipeline = _section_list(doc, "pipeline", "a list of components", rep)
    policies = _section_list(doc, "policies", "a list", rep)
    nlu = _read_pipeline(pipeline, language, rep)
    policy = _read_policies(policies, nlu, rep)
    if not pipeline:
        # Rasa's default pipeline ends with a FallbackClassifier (threshold 0.3)
        nlu.setdefault("fallback_threshold", 0.3)
    if language.split("_")[0].split("-")[0].lower() in CJK_LANGUAGES:
        nlu.setdefault("use_word_boundaries", False)
    # without a declared language the compiler decides from the examples (None)
    cjk = _formc_options(doc, rep).get("cjk_tokens")
    if cjk is None and doc.get("language") is not None:
        cjk = cjk_mode(language, nlu["pipeline"])
    nlu["cjk_tokens"] = cjk
    assistant_id = doc.get("assistant_id")
    return model.Config(model.NluConfig(**nlu), model.PolicyConfig(**policy),
                        str(assistant_id) if assistant_id is not None else None, span=doc.span)


def _section_list(doc: Any, key: str, what: str, rep: Reporter) -> list:
    value = doc.get(key) or []
    if not isinstance(value, list):
        rep.error("F220", f"'{key}' must be {what}, found {describe(value)}",
                  doc.value_span(key))
        return []
    return value


def _read_pipeline(pipeline: list, language: str, rep: Reporter) -> dict:
    """NluConfig keyword arguments from the `pipeline:` components."""
    nlu: dict = {"language": language, "pipeline": tuple(_component_name(c) for c in pipeline)}
    names = nlu["pipeline"]
    count_vectors, selectors, crfs, wholes = [], [], [], []
    for position, component in enumerate(pipeline):
        if not isinstance(component, dict):
            if _component_name(component) in ("CRFEntityExtractor", "DIETClassifier"):
                crfs.append(crf_options(_component_name(component), {}, position))
            continue
        name, span = _component_name(component), component.span
        if name in WHOLE_COMPONENTS:
            wholes.append(_whole(component))
        if name == "CountVectorsFeaturizer":
            count_vectors.append(_count_vectors(component, span, rep))
        elif name == "ResponseSelector":
            key = component.get("retrieval_intent")
            selectors.append(str(key) if key else "")
        elif name in ("CRFEntityExtractor", "DIETClassifier"):
            options = crf_options(name, component, position)
            if options is not None:
                crfs.append(options)
        else:
            _component_options(name, component, span, rep, nlu)
    if names and "EntitySynonymMapper" not in names:
        nlu["synonyms_enabled"] = False
    # Rasa's default pipeline (empty `pipeline:`) has word and char_wb 1-4 count vectors and a
    # RegexFeaturizer; pipelines featurizing otherwise (ConveRT, spaCy) get the same stand-in.
    nlu["count_vectors"] = tuple(count_vectors) or (("word", 1, 1, True, 1, 1.0),
                                                    ("char_wb", 1, 4, True, 1, 1.0))
    nlu["regex_featurizer"] = "RegexFeaturizer" in names or not names
    nlu["retrieval_selectors"] = tuple(selectors) if names else ("",)
    nlu["entity_crfs"] = tuple(c for c in crfs if c is not None)
    nlu["components"] = tuple(wholes)
    return nlu


def _count_vectors(component: Any, span, rep: Reporter) -> tuple:
    return (str(component.get("analyzer") or "word"),
            int(as_number(component.get("min_ngram"), "min_ngram", span, rep, 1)),
            int(as_number(component.get("max_ngram"), "max_ngram", span, rep, 1)),
            as_bool(component.get("lowercase"), "lowercase", span, rep, True),
            _df(component.get("min_df"), "min_df", span, rep, 1),
            _df(component.get("max_df"), "max_df", span, rep, 1.0))


CRF_KEYS = ("features", "BILOU_flag", "split_entities_by_comma", "max_iterations", "L1_c",
            "L2_c")


def _frozen(value: Any) -> Any:
    """YAML lists / maps -> tuples (NluConfig is hashable)."""
    if isinstance(value, dict):
        return tuple((str(k), _frozen(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


def crf_options(name: str, component: Any, position: int):
    """CRFEntityExtractor's options, or DIETClassifier's entity part (None when DIET has
    `entity_recognition: false`): ((key, value), ...) with the extractor name and its
    position in the pipeline (entities are listed in pipeline order)."""
    get = component.get if isinstance(component, dict) else (lambda _k: None)
    if name == "DIETClassifier":
        if get("entity_recognition") is False:
            return None
        keys = ("BILOU_flag", "split_entities_by_comma")     # DIET's own; the CRF's defaults
    else:
        keys = CRF_KEYS
    pairs = [("extractor", name), ("position", position)]
    pairs += [(k, _frozen(plain(get(k)))) for k in keys if get(k) is not None]
    return tuple(pairs)


def _component_options(name: str, component: Any, span, rep: Reporter, nlu: dict) -> None:
    """Options of the components that are neither count vectors nor entity CRFs."""
    if name == "RegexFeaturizer":
        nlu["regex_featurizer_case_sensitive"] = as_bool(
            component.get("case_sensitive"), "case_sensitive", span, rep, True)
        # the featurizer has its own word-boundary option, independent of the extractor's
        if component.get("use_word_boundaries") is not None:
            nlu["regex_featurizer_word_boundaries"] = as_bool(
                component.get("use_word_boundaries"), "use_word_boundaries", span, rep, True)
    elif name == "FallbackClassifier":
        nlu["fallback_threshold"] = float(as_number(component.get("threshold"), "threshold",
                                                    span, rep, 0.3))
        nlu["ambiguity_threshold"] = float(as_number(component.get("ambiguity_threshold"),
                                                     "ambiguity_threshold", span, rep, 0.1))
    elif name == "RegexEntityExtractor":
        _regex_extractor(component, span, rep, nlu)
    elif name == "LogisticRegressionClassifier":
        nlu["logreg_max_iter"] = int(as_number(component.get("max_iter"), "max_iter", span,
                                               rep, 100))
        nlu["logreg_tol"] = float(as_number(component.get("tol"), "tol", span, rep, 1e-4))
    elif name == "KeywordIntentClassifier":
        nlu["intent_classifier"] = "keyword"
        nlu["keyword_case_sensitive"] = as_bool(component.get("case_sensitive"),
                                                "case_sensitive", span, rep, True)


def _regex_extractor(component: Any, span, rep: Reporter, nlu: dict) -> None:
    nlu["regex_case_sensitive"] = as_bool(component.get("case_sensitive"), "case_sensitive",
                                          span, rep, False)
    nlu["use_regexes"] = as_bool(component.get("use_regexes"), "use_regexes", span, rep, True)
    nlu["use_lookup_tables"] = as_bool(component.get("use_lookup_tables"),
                                       "use_lookup_tables", span, rep, True)
    if component.get("use_word_boundaries") is not None:
        nlu["use_word_boundaries"] = as_bool(component.get("use_word_boundaries"),
                                             "use_word_boundaries", span, rep, True)


def _read_policies(policies: list, nlu: dict, rep: Reporter) -> dict:
    """PolicyConfig keyword arguments; 1.x fallback policies also set NLU thresholds."""
    policy = {"has_rule_policy": not policies, "has_memoization": not policies}
    for entry in policies:
        if not isinstance(entry, dict):
            continue
        name, span = _component_name(entry), entry.span
        if name == "RulePolicy" or name.endswith("RulePolicy"):
            _rule_policy(entry, span, rep, policy)
        elif name in ("MemoizationPolicy", "AugmentedMemoizationPolicy"):
            policy["has_memoization"] = True
            policy["augmented_memoization"] = name == "AugmentedMemoizationPolicy"
            if entry.get("max_history") is not None:
                policy["max_history"] = int(as_number(entry.get("max_history"), "max_history", span,
                                                      rep, 0)) or None
        elif name == "FallbackPolicy":  # 1.x: thresholds move to the classifier and RulePolicy
            nlu.setdefault("fallback_threshold", float(as_number(entry.get("nlu_threshold"),
                                                                 "nlu_threshold", span, rep, 0.3)))
            policy["core_fallback_threshold"] = float(as_number(entry.get("core_threshold"),
                                                                "core_threshold", span, rep, 0.3))
            policy["core_fallback_action_name"] = str(entry.get("fallback_action_name")
                                                      or "action_default_fallback")
            policy["has_rule_policy"] = True
        elif name == "TwoStageFallbackPolicy":
            nlu.setdefault("fallback_threshold", float(as_number(entry.get("nlu_threshold"),
                                                                 "nlu_threshold", span, rep, 0.3)))
            policy["has_rule_policy"] = True
        elif name in ("MappingPolicy", "FormPolicy"):
            policy["has_rule_policy"] = True
        elif name == "TEDPolicy":   # formc.dialogue.backoff stands in for it
            policy["ted"] = True
            if entry.get("max_history") is not None:
                policy["ted_max_history"] = int(as_number(entry.get("max_history"), "max_history",
                                                          span, rep, 0)) or None
    return policy


def _rule_policy(entry: Any, span, rep: Reporter, policy: dict) -> None:
    policy["has_rule_policy"] = True
    policy["core_fallback_threshold"] = float(as_number(
        entry.get("core_fallback_threshold"), "core_fallback_threshold", span, rep, 0.3))
    policy["core_fallback_action_name"] = str(entry.get("core_fallback_action_name")
                                              or "action_default_fallback")
    policy["enable_fallback_prediction"] = as_bool(
        entry.get("enable_fallback_prediction"), "enable_fallback_prediction", span, rep, True)
    policy["restrict_rules"] = as_bool(entry.get("restrict_rules"), "restrict_rules", span,
                                       rep, True)
    policy["check_for_contradictions"] = as_bool(
        entry.get("check_for_contradictions"), "check_for_contradictions", span, rep, True)


def _formc_options(doc: Any, rep: Reporter) -> dict:
    """formc's opt-in top-level `formc: {cjk_tokens: run|char}` of config.yml (not in Rasa)."""
    value = doc.get("formc")
    if value is None or not expect_map(value, "'formc' of config.yml", doc.value_span("formc"),
                                       rep):
        return {}
    out = {}
    for key in value:
        if key != "cjk_tokens":
            rep.warning("F222", f"unknown formc option '{key}' of config.yml is ignored",
                        value.key_span(key), "the config.yml formc options are: cjk_tokens")
    mode = value.get("cjk_tokens")
    if mode is not None:
        if str(mode) in CJK_MODES:
            out["cjk_tokens"] = str(mode)
        else:
            rep.error("F222", f"formc option cjk_tokens must be one of {', '.join(CJK_MODES)}, "
                      f"found {describe(mode)}", value.value_span("cjk_tokens"),
                      "run: Rasa's WhitespaceTokenizer; char: one token per CJK character")
    return out


def read_endpoints(doc: Any, path: str, rep: Reporter) -> model.Endpoints:
    if doc is None:
        return model.Endpoints()
    if not expect_map(doc, "endpoints.yml", Span(path), rep):
        return model.Endpoints()
    action = None
    raw = doc.get("action_endpoint")
    if isinstance(raw, dict) and raw.get("url"):
        headers = raw.get("headers") if isinstance(raw.get("headers"), dict) else {}
        action = model.ActionEndpoint(
            url=str(raw["url"]), token=str(raw["token"]) if raw.get("token") is not None else None,
            token_name=str(raw.get("token_name") or "token"),
            headers=tuple(sorted((str(k), str(v)) for k, v in headers.items())),
            enable_selective_domain=bool(raw.get("enable_selective_domain", False)))
    elif raw is not None and not isinstance(raw, dict):
        rep.error("F221", f"'action_endpoint' must be a mapping with 'url', found {describe(raw)}",
                  doc.value_span("action_endpoint"))
    stores = {}
    for key in ("tracker_store", "lock_store"):
        value = doc.get(key)
        if isinstance(value, dict):
            stores[key] = plain(value)
    return model.Endpoints(action, stores.get("tracker_store"), stores.get("lock_store"))
