"""config.yml and endpoints.yml -> model.Config / model.Endpoints (Rasa defaults where absent)."""

from __future__ import annotations

from typing import Any

from .. import model
from ..errors import Reporter, Span
from ..nlu.tokenize import CJK_MODES, cjk_mode
from .common import as_bool, as_number, describe, expect_list, expect_map, plain

CJK_LANGUAGES = ("zh", "ja", "ko", "th")


def _component_name(entry: Any) -> str:
    name = str(entry.get("name", "")) if isinstance(entry, dict) else str(entry)
    return name.rsplit(".", 1)[-1]  # module paths (custom.module.Class) -> Class


def _df(value: Any, what: str, span, rep: Reporter, default):
    """sklearn's min_df / max_df: an int counts documents, a float is a share of them."""
    number = as_number(value, what, span, rep, default)
    return int(number) if isinstance(number, int) and not isinstance(number, bool) else float(number)


def read_config(doc: Any, path: str, rep: Reporter) -> model.Config:
    if doc is None:
        return model.Config()
    if not expect_map(doc, "config.yml", Span(path), rep):
        return model.Config()
    language = str(doc.get("language") or "en")
    pipeline = doc.get("pipeline") or []
    policies = doc.get("policies") or []
    if not isinstance(pipeline, list):
        rep.error("F220", f"'pipeline' must be a list of components, found {describe(pipeline)}",
                  doc.value_span("pipeline"))
        pipeline = []
    if not isinstance(policies, list):
        rep.error("F220", f"'policies' must be a list, found {describe(policies)}",
                  doc.value_span("policies"))
        policies = []
    nlu = {"language": language, "pipeline": tuple(_component_name(c) for c in pipeline)}
    names = nlu["pipeline"]
    count_vectors, selectors = [], []
    for component in pipeline:
        if not isinstance(component, dict):
            continue
        name, span = _component_name(component), component.span
        if name == "CountVectorsFeaturizer":
            count_vectors.append((str(component.get("analyzer") or "word"),
                                  int(as_number(component.get("min_ngram"), "min_ngram", span, rep, 1)),
                                  int(as_number(component.get("max_ngram"), "max_ngram", span, rep, 1)),
                                  as_bool(component.get("lowercase"), "lowercase", span, rep, True),
                                  _df(component.get("min_df"), "min_df", span, rep, 1),
                                  _df(component.get("max_df"), "max_df", span, rep, 1.0)))
        elif name == "RegexFeaturizer":
            nlu["regex_featurizer_case_sensitive"] = as_bool(
                component.get("case_sensitive"), "case_sensitive", span, rep, True)
            # the featurizer has its own word-boundary option, independent of the extractor's
            if component.get("use_word_boundaries") is not None:
                nlu["regex_featurizer_word_boundaries"] = as_bool(
                    component.get("use_word_boundaries"), "use_word_boundaries", span, rep, True)
        elif name == "ResponseSelector":
            key = component.get("retrieval_intent")
            selectors.append(str(key) if key else "")
        if name == "FallbackClassifier":
            nlu["fallback_threshold"] = float(as_number(component.get("threshold"), "threshold",
                                                        span, rep, 0.3))
            nlu["ambiguity_threshold"] = float(as_number(component.get("ambiguity_threshold"),
                                                         "ambiguity_threshold", span, rep, 0.1))
        elif name == "RegexEntityExtractor":
            nlu["regex_case_sensitive"] = as_bool(component.get("case_sensitive"), "case_sensitive",
                                                  span, rep, False)
            nlu["use_regexes"] = as_bool(component.get("use_regexes"), "use_regexes", span, rep, True)
            nlu["use_lookup_tables"] = as_bool(component.get("use_lookup_tables"),
                                               "use_lookup_tables", span, rep, True)
            if component.get("use_word_boundaries") is not None:
                nlu["use_word_boundaries"] = as_bool(component.get("use_word_boundaries"),
                                                     "use_word_boundaries", span, rep, True)
        elif name == "LogisticRegressionClassifier":
            nlu["logreg_max_iter"] = int(as_number(component.get("max_iter"), "max_iter", span,
                                                   rep, 100))
            nlu["logreg_tol"] = float(as_number(component.get("tol"), "tol", span, rep, 1e-4))
        elif name == "KeywordIntentClassifier":
            nlu["intent_classifier"] = "keyword"
            nlu["keyword_case_sensitive"] = as_bool(component.get("case_sensitive"),
                                                    "case_sensitive", span, rep, True)
    if names and "EntitySynonymMapper" not in names:
        nlu["synonyms_enabled"] = False
    # Rasa's default pipeline (empty `pipeline:`) has word and char_wb 1-4 count vectors and a
    # RegexFeaturizer; pipelines featurizing otherwise (ConveRT, spaCy) get the same stand-in.
    nlu["count_vectors"] = tuple(count_vectors) or (("word", 1, 1, True, 1, 1.0),
                                                    ("char_wb", 1, 4, True, 1, 1.0))
    nlu["regex_featurizer"] = "RegexFeaturizer" in names or not names
    nlu["retrieval_selectors"] = tuple(selectors) if names else ("",)
    policy = {"has_rule_policy": not policies, "has_memoization": not policies}
    for entry in policies:
        if not isinstance(entry, dict):
            continue
        name, span = _component_name(entry), entry.span
        if name == "RulePolicy" or name.endswith("RulePolicy"):
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
    if not pipeline:
        # Rasa's default pipeline ends with a FallbackClassifier (threshold 0.3)
        nlu.setdefault("fallback_threshold", 0.3)
    if language.split("_")[0].split("-")[0].lower() in CJK_LANGUAGES:
        nlu.setdefault("use_word_boundaries", False)
    # without a declared language the compiler decides from the examples (None)
    cjk = _formc_options(doc, rep).get("cjk_tokens")
    if cjk is None and doc.get("language") is not None:
        cjk = cjk_mode(language, names)
    nlu["cjk_tokens"] = cjk
    assistant_id = doc.get("assistant_id")
    return model.Config(model.NluConfig(**nlu), model.PolicyConfig(**policy),
                        str(assistant_id) if assistant_id is not None else None, span=doc.span)


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
