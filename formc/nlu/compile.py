"""NluData + NluConfig + Domain -> (JSON-able NLU model dict, diagnostics).

The dict holds everything `classify.Nlu` needs: domain intents/entities (for `/intent`
messages), the intent scorer, the entity extractor tables, the synonym map, fallback thresholds
and the response-selector model. Output is deterministic: lists in data order, maps sorted when
dumped, arrays as base64 float32/int32, the rest rounded.

Scorer choice (`NluConfig.intent_scorer`, None = from the pipeline):
* KeywordIntentClassifier in the pipeline -> "keyword" (§4.4 semantics);
* anything else (LogisticRegressionClassifier, DIETClassifier, empty pipeline, ...) -> "logreg",
  an emulation of Rasa's light pipeline (char_wb 1-4 counts + regex features + sklearn-style
  L2 logistic regression stopped after 100 L-BFGS-B iterations);
* "logreg" falls back to "tfidf" (training-free) when nnz(features) x intents exceeds
  `logreg_max_cost` (keeps compile < 1 s for 1,000-intent bots); an F313 info says so.

CJK tokenization (`NluConfig.cjk_tokens`, None = `tokenize.cjk_mode` of the language, the
pipeline and the examples): "run" reproduces Rasa's WhitespaceTokenizer, "char" makes each CJK
character a token. The scorer dicts record a "char" choice so the runtime parses alike.

Entity extraction defaults to Rasa's RegexEntityExtractor semantics (list-order alternation,
overlaps kept); `entity_match="longest"` selects deterministic longest-match resolution.
"""

from __future__ import annotations

import re
try:   # to find syntax newer than Rasa's Python (rasa_re_error); `sre_parse` before 3.11
    import re._parser as _re_parser
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _re_parser
from typing import Optional

from ..errors import Diagnostic, ERROR, INFO, WARNING
from ..model import DEFAULT_INTENTS, Domain, NluConfig, NluData
from . import scorers
from .crf_train import start_entity_crfs
from .entities import compile_extractor
from .featurize import Featurizer, build_vocabulary
from .forked import ForkedCall
from .tokenize import CJK_MODES, cjk_mode
from .duckling import compile_duckling
from .jieba_tokens import JIEBA, compile_tokenizer, register as register_jieba
from .regex_budget import risk_diagnostics

FORMAT = "formc-nlu"
VERSION = 1
CJK_LANGUAGES = ("zh", "ja", "ko", "th")
FORK_MIN_SELECTOR_EXAMPLES = 400     # below this a forked child is not worth it


def training_examples(examples) -> list:
    """Examples with a text and an intent, each (text, intent, entities) once, first kept: Rasa's
    TrainingData drops repeated examples before training, so a copy must not weigh twice."""
    seen: dict = {}
    for ex in examples:
        if ex.text and ex.intent:
            key = (ex.text, ex.intent, tuple((e.start, e.end, e.entity, str(e.value), e.role, e.group)
                                             for e in ex.entities))
            seen.setdefault(key, ex)
    return list(seen.values())


def compile_nlu(data: NluData, config: NluConfig, domain: Domain) -> tuple[dict, list[Diagnostic]]:
    diags: list[Diagnostic] = []
    examples = training_examples(data.examples)
    texts = [ex.text for ex in examples]
    base = [ex.intent.split("/", 1)[0] for ex in examples]
    entity_names = {e.entity for ex in data.examples for e in ex.entities}

    regexes = []
    # Rasa's TrainingData sorts its regex features by "<name>+<pattern>" when it is built, so
    # both the extractor's pattern order (hence the order of regex entities in a parse) and the
    # featurizer's columns follow that order, not the data order (nlu2/07).
    for r in sorted(data.regexes, key=lambda r: f"{r.name}+{r.pattern}"):
        problem = rasa_re_error(r.pattern)
        if problem is None:
            regexes.append((r.name, r.pattern))
            diags.extend(risk_diagnostics(r.name, r.pattern, r.span))   # issue 14
        else:
            diags.append(Diagnostic(ERROR, "F302", f"regex '{r.name}' does not compile: {problem}",
                                    r.span, "regexes use Python `re` syntax (as of Python 3.10, "
                                    "which Rasa 3.6 runs on)"))
    lookups = [(l.name, list(l.elements)) for l in data.lookups]

    language = (config.language or "en").split("_")[0].split("-")[0].lower()
    boundaries = (config.use_word_boundaries if config.use_word_boundaries is not None
                  else language not in CJK_LANGUAGES)
    extractor = compile_extractor(
        regexes, lookups, entity_names, case_sensitive=config.regex_case_sensitive,
        use_regexes=config.use_regexes, use_lookup_tables=config.use_lookup_tables,
        word_boundaries=boundaries, cjk_boundaries=config.cjk_word_boundaries,
        normalize=config.normalize, match=config.entity_match)
    synonyms = build_synonyms(data, diags) if config.synonyms_enabled else {}
    # RegexFeaturizer has its own `use_word_boundaries` (Rasa default true): an extractor configured
    # without boundaries does not change the intent features (nlu2/10: "pineapple" is a fruit
    # entity but no lookup feature). CJK bots keep the language-based choice.
    feat_boundaries = (config.regex_featurizer_word_boundaries
                       if config.regex_featurizer_word_boundaries is not None
                       else (boundaries if language in CJK_LANGUAGES else True))

    kind = choose_scorer(config)
    cjk = config.cjk_tokens if config.cjk_tokens in CJK_MODES else \
        cjk_mode(config.language, config.pipeline, texts)
    tokenizer = None
    if cjk == JIEBA:            # Rasa's JiebaTokenizer: jieba's tokens, user dictionaries
        tokenizer, found = compile_tokenizer(config)
        diags += found
        cjk = register_jieba(tokenizer["jieba"])
        if config.regex_featurizer_word_boundaries is None:
            feat_boundaries = True      # Rasa's default: formc reproduces this pipeline exactly
    # the CRFs train beside the intent and response scorers (a forked child on large bots)
    pending = start_entity_crfs(examples, config, regexes, lookups, feat_boundaries, cjk)
    # so do the response selectors (another child: on rasa-demo they are 2/5 of the logreg work)
    plan = _selector_plan(examples, config)
    groups = plan[1] if plan else []
    selecting = ForkedCall(sum(len(items) for _s, items in groups) >= FORK_MIN_SELECTOR_EXAMPLES,
                           _selector_models, groups, regexes, lookups, config, feat_boundaries,
                           cjk)
    scorer = None
    if kind == "keyword":
        diags += _invalid_keywords(examples, config.keyword_case_sensitive)
    if texts:
        scorer, kind = _train(kind, texts, base, regexes, lookups, config, feat_boundaries,
                              diags, cjk)
    retrieval = _response_selector(plan, selecting, data, domain, diags)
    crfs = pending.result()
    intents = list(dict.fromkeys([*domain.intent_names(), *DEFAULT_INTENTS]))
    model = {
        "format": FORMAT, "version": VERSION, "language": language,
        "intents": intents, "entities": [e.name for e in domain.entities],
        "scorer": scorer,
        "fallback": (None if config.fallback_threshold is None else
                     {"threshold": float(config.fallback_threshold),
                      "ambiguity_threshold": float(config.ambiguity_threshold)}),
        "ranking_length": int(config.ranking_length),
        "extractor": extractor, "synonyms": dict(sorted(synonyms.items())),
        "lookup_tables": [{"name": n, "elements": el} for n, el in lookups],
        "response_selector": retrieval,
        # Rasa's parse shows the tokenizer's [start, end] offsets when the pipeline has one
        # (no pipeline: Rasa's default one, which starts with WhitespaceTokenizer)
        "text_tokens": cjk if (not config.pipeline or any(
            p.rsplit(".", 1)[-1].endswith("Tokenizer") for p in config.pipeline)) else None,
    }
    if tokenizer:
        model["tokenizer"] = tokenizer
    duckling, found = compile_duckling(config)      # DucklingEntityExtractor (server / offline)
    diags += found
    if duckling:
        model["duckling"] = duckling
    if crfs:        # only then: bots without CRF entities keep their exact bytes
        model["crf"] = crfs
        if "RegexEntityExtractor" not in {p.rsplit(".", 1)[-1] for p in config.pipeline}:
            extractor["patterns"] = []      # regexes / lookups are then CRF features only
    return model, diags


def choose_scorer(config: NluConfig) -> str:
    if config.intent_scorer:
        return config.intent_scorer
    names = {p.rsplit(".", 1)[-1] for p in config.pipeline}
    if config.intent_classifier == "keyword" or "KeywordIntentClassifier" in names:
        return "keyword"
    return "logreg"


def rasa_re_error(pattern: str, flags: int = 0) -> Optional[str]:
    """Why Rasa's Python (3.8-3.10) cannot compile `pattern`, or None. formc runs on 3.11+,
    whose `re` also accepts possessive quantifiers (`c++`) and atomic groups (`(?>...)`)."""
    try:
        re.compile(pattern, flags)        # the compile step has checks of its own (look-behinds)
        tree = _re_parser.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        return str(exc)
    newer = {"POSSESSIVE_REPEAT": "a possessive quantifier (e.g. '++')",
             "ATOMIC_GROUP": "an atomic group '(?>...)'"}

    def walk(node) -> Optional[str]:
        if isinstance(node, _re_parser.SubPattern):
            node = node.data
        if isinstance(node, (list, tuple)):
            for item in node:
                if isinstance(item, tuple) and len(item) == 2 and str(item[0]) in newer:
                    return f"{newer[str(item[0])]} is new in Python 3.11"
                found = walk(item)
                if found:
                    return found
        return None
    return walk(tree)


def _invalid_keywords(examples: list, case_sensitive: bool) -> list[Diagnostic]:
    """KeywordIntentClassifier uses each example text as a regex, unescaped (§4.4); Rasa's
    training stops on the first one that does not compile when two intents are compared."""
    if len({ex.intent for ex in examples}) < 2:
        return []
    flags = 0 if case_sensitive else re.IGNORECASE
    diags = []
    for ex in examples:
        problem = rasa_re_error(r"\b" + ex.text + r"\b", flags)
        if problem:
            diags.append(Diagnostic(
                ERROR, "F315", f"example '{ex.text}' of intent '{ex.intent}' is not a valid "
                f"regular expression for Rasa ({problem}): KeywordIntentClassifier uses examples "
                "as regexes, and Rasa fails to train", ex.span,
                "escape the special characters in the example (e.g. c\\+\\+), or use another "
                "intent classifier"))
    return diags


def _train(kind: str, texts, labels, regexes, lookups, config: NluConfig, boundaries: bool,
           diags: list[Diagnostic], cjk: str) -> tuple[dict, str]:
    if kind == "keyword":
        return scorers.train_keyword(texts, labels, config.keyword_case_sensitive), kind
    if kind == "logreg":
        cost = estimate_cost(texts, len(set(labels)), cjk)
        if cost > config.logreg_max_cost:
            diags.append(Diagnostic(INFO, "F313", f"{len(texts)} examples x {len(set(labels))} "
                                    "intents is too large to train the logistic-regression "
                                    "scorer at compile time; using the tfidf scorer",
                                    None, "set intent_scorer to force a scorer"))
            kind = "tfidf"
    if kind == "tfidf":
        return scorers.train_tfidf(texts, labels, cjk_tokens=cjk), kind
    return scorers.train_logreg(
        texts, labels, regexes, lookups, count_vectors=config.count_vectors,
        regex_features=config.regex_featurizer,
        regex_case_sensitive=config.regex_featurizer_case_sensitive,
        word_boundaries=boundaries, max_iter=config.logreg_max_iter, tol=config.logreg_tol,
        cjk_tokens=cjk), "logreg"


def estimate_cost(texts: list[str], n_classes: int, cjk: str = "run") -> float:
    """nnz of the char n-gram matrix x classes: proportional to one L-BFGS evaluation."""
    probe = Featurizer({}, [], cjk=cjk)
    sample = texts[:: max(1, len(texts) // 200)]
    avg = sum(len(set(probe.grams(t))) for t in sample) / max(1, len(sample))
    return avg * len(texts) * max(1, n_classes)


def build_synonyms(data: NluData, diags: list[Diagnostic]) -> dict[str, str]:
    """EntitySynonymMapper's table (§4.3): synonym blocks, then annotated values, then
    self-entries for every target value; later definitions win with a warning."""
    table: dict[str, str] = {}

    def add(surface: str, value: str, span) -> None:
        if surface == value:
            return
        key = surface.lower()
        if key in table and table[key] != value:
            diags.append(Diagnostic(WARNING, "F310", f"'{surface}' is a synonym of both "
                                    f"'{table[key]}' and '{value}'; using '{value}'", span))
        table[key] = value

    for syn in data.synonyms:
        add(str(syn.text), str(syn.value), syn.span)
    for ex in data.examples:
        for ent in ex.entities:
            add(ex.text[ent.start:ent.end], str(ent.value), ex.span)
    targets = [str(s.value) for s in data.synonyms]
    targets += [str(e.value) for ex in data.examples for e in ex.entities]
    for value in targets:
        table.setdefault(value.lower(), value)
    return table


def _selector_plan(examples, config: NluConfig) -> Optional[tuple[list[str], list]]:
    """(retrieval intents, [(selector, [(text, intent/key)])] sorted by selector), or None
    without a response selector."""
    keyed = [(ex.text, ex.intent) for ex in examples if "/" in ex.intent]
    # Only a ResponseSelector in the pipeline picks sub-intents; without one Rasa's utter_<faq>
    # finds no selection and says nothing (recorded from Rasa 3.6), so formc does the same.
    if not keyed or not config.retrieval_selectors:
        return None
    own = [r for r in config.retrieval_selectors if r]
    groups: dict[str, list] = {}
    for text, key in keyed:
        head = key.split("/", 1)[0]
        if head in own:
            groups.setdefault(head, []).append((text, key))
        elif "" in config.retrieval_selectors:  # a selector without retrieval_intent: all
            groups.setdefault("default", []).append((text, key))
    return sorted({k.split("/", 1)[0] for _t, k in keyed}), sorted(groups.items())


def _selector_models(groups, regexes, lookups, config: NluConfig, boundaries, cjk: str
                     ) -> list[list]:
    """Per selector [model, [[severity, code, message, hint] of its training notes]] (JSON:
    this may run in a forked child)."""
    out = []
    for _selector, items in groups:
        texts, keys = [t for t, _ in items], [k for _, k in items]
        kind = "logreg" if len(set(keys)) > 1 else "tfidf"
        notes: list[Diagnostic] = []
        model, _ = _train(kind, texts, keys, regexes, lookups, config, boundaries, notes, cjk)
        if any(d.span is not None for d in notes):
            raise ValueError("a training note with a source span cannot be sent back")
        out.append([model, [[d.severity, d.code, d.message, d.hint] for d in notes]])
    return out


def _response_selector(plan, selecting: ForkedCall, data: NluData, domain: Domain,
                       diags: list[Diagnostic]) -> Optional[dict]:
    if plan is None:
        return None
    retrieval_intents, groups = plan
    trained = selecting.result()
    responses = {r.name: list(r.variations) for r in (*domain.responses, *data.responses)}
    selectors = {}
    for (selector, items), (model, notes) in zip(groups, trained):
        keys = [k for _, k in items]
        diags += [Diagnostic(severity, code, message, None, hint)
                  for severity, code, message, hint in notes]
        missing = sorted({k for k in keys if f"utter_{k}" not in responses})
        for k in missing:
            diags.append(Diagnostic(WARNING, "F314", f"retrieval intent '{k}' has no response "
                                    f"'utter_{k}'", None, f"add utter_{k} to the responses"))
        selectors[selector] = {"model": model,
                               "responses": {k: responses.get(f"utter_{k}", [])
                                             for k in sorted(set(keys))}}
    return {"retrieval_intents": retrieval_intents, "selectors": selectors}


def vocabulary_size(texts: list[str]) -> int:
    """Handy for checks: Rasa logs this as 'N vocabulary items were created for text'."""
    return len(build_vocabulary(texts))
