"""Labelled test examples + a compiled NLU -> Rasa 3.6's NLU evaluation report (POST /model/test/intents).

Rasa's `run_evaluation(..., report_as_dict=True)` in numbers and shape: intents (the
FallbackClassifier's prediction undone: the next-ranked intent counts), response selection (on
`intent_response_key`) and entities (per extractor, one label per token: entity[.group][.role],
`no_entity` left out of the averages), each scored like scikit-learn's `classification_report`
with Rasa's additions (`accuracy` xor `micro avg`, `confused_with`). formc's own
`nlu-eval` report (evaluate.py, entity_eval.py: entity spans) answers other questions.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

import numpy as np

from ..model import NluExample
from .tokenize import RUN, tokenize

NO_ENTITY = "no_entity"
PRETRAINED = frozenset({"DucklingEntityExtractor", "SpacyEntityExtractor"})
WITH_CONFIDENCES = frozenset({"CRFEntityExtractor", "DIETClassifier"})


def _prf(tp: np.ndarray, pred: np.ndarray, true: np.ndarray) -> tuple:
    """Precision, recall, F1 as scikit-learn 1.1 computes them (0 where undefined)."""
    precision = np.divide(tp, pred, out=np.zeros(tp.shape), where=pred != 0)
    recall = np.divide(tp, true, out=np.zeros(tp.shape), where=true != 0)
    denom = precision + recall
    denom[denom == 0.0] = 1
    return precision, recall, 2 * precision * recall / denom


def _row(p, r, f, support) -> dict:
    return {"precision": float(p), "recall": float(r), "f1-score": float(f), "support": int(support)}


def classification_report(targets: list, predictions: list,
                          exclude: Optional[str] = None) -> tuple[dict, float, float, float]:
    """-> (report, weighted precision, weighted F1, accuracy), as Rasa's get_evaluation_metrics."""
    labels = sorted(set(targets) - {exclude})
    if not labels:
        return {}, 0.0, 0.0, 0.0
    t, p = np.asarray(targets, dtype=object), np.asarray(predictions, dtype=object)
    tp = np.array([np.sum((t == lab) & (p == lab)) for lab in labels], dtype=float)
    pred = np.array([np.sum(p == lab) for lab in labels], dtype=float)
    true = np.array([np.sum(t == lab) for lab in labels], dtype=float)
    precision, recall, f1 = _prf(tp, pred, true)
    report = {lab: _row(*vals) for lab, *vals in zip(labels, precision, recall, f1, true)}
    accuracy = float(np.mean(t == p))
    total = int(true.sum())
    micro = _prf(*(np.array([x.sum()]) for x in (tp, pred, true)))
    report["macro avg"] = _row(precision.mean(), recall.mean(), f1.mean(), total)
    weighted = [float(np.average(x, weights=true)) for x in (precision, recall, f1)]
    report["weighted avg"] = _row(*weighted, total)
    if set(labels) == set(targets) | set(predictions):
        report["accuracy"] = float(micro[0][0])
        report["micro avg"] = _row(report["accuracy"], report["accuracy"], report["accuracy"], total)
    else:   # labels left out of the report were predicted: micro avg != accuracy
        report["micro avg"] = _row(micro[0][0], micro[1][0], micro[2][0], total)
        report["accuracy"] = accuracy
    return report, weighted[0], weighted[2], accuracy


def _add_confused(report: dict, targets: list, predictions: list, exclude: Optional[str]) -> None:
    """`confused_with`: per label, up to the three most frequent wrong predictions (Rasa's
    _add_confused_labels_to_report, same argsort over the confusion matrix's rows)."""
    labels = sorted(set(targets) | set(predictions))
    index = {lab: i for i, lab in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(targets, predictions):
        matrix[index[t], index[p]] += 1
    order = np.argsort(matrix, axis=1)
    for label in labels:
        if label != exclude and report.get(label):
            report[label]["confused_with"] = {}
    for i, label in enumerate(labels):
        if label == exclude:
            continue
        for j in range(min(3, len(labels))):
            other = labels[order[i, -(1 + j)]]
            count = int(matrix[i, order[i, -(1 + j)]])
            if other != label and other != exclude and count > 0:
                report[label]["confused_with"][other] = count


def _scored(targets: list, predictions: list, exclude: Optional[str] = None) -> dict:
    report, precision, f1, accuracy = classification_report(targets, predictions, exclude)
    if report:
        _add_confused(report, targets, predictions, exclude)
    return {"report": report, "precision": precision, "f1_score": f1, "accuracy": accuracy}


def undo_fallback(parsed: dict) -> dict:
    """The intent as if the FallbackClassifier were not there (Rasa: the second of the ranking)."""
    ranking = parsed.get("intent_ranking") or []
    if (parsed.get("intent") or {}).get("name") != "nlu_fallback" or len(ranking) < 2:
        return parsed
    return {**parsed, "intent": ranking[1], "intent_ranking": ranking[1:]}


def annotations(example: NluExample) -> list[dict]:
    """An example's entity annotations as Rasa's training data writes them."""
    out = []
    for e in example.entities:
        item = {"start": e.start, "end": e.end, "value": e.value, "entity": e.entity}
        item.update({k: getattr(e, k) for k in ("role", "group") if getattr(e, k) is not None})
        out.append(item)
    return out


def _intersection(token: tuple, entity: dict) -> int:
    return max(0, min(token[2], entity["end"]) - max(token[1], entity["start"]))


def token_label(token: tuple, entities: Iterable[dict]) -> str:
    """The token's label, entity[.group][.role] of the entity covering most of it, or
    no_entity (Rasa's _concat_entity_labels; the first of equally good entities wins)."""
    best, most = None, 0
    for e in entities:
        shared = _intersection(token, e)
        if shared > most:
            best, most = e, shared
    if best is None:
        return NO_ENTITY
    parts = [best.get(k) for k in ("entity", "group", "role")]
    return ".".join(str(p) for p in parts if p not in (None, "")) or NO_ENTITY


class Evaluation:
    """Collects, example by example, what Rasa's get_eval_data does; `report()` at the end."""

    def __init__(self, examples: list[NluExample], token_mode: Optional[str] = None) -> None:
        self.eval_intents = len({ex.intent.split("/", 1)[0] for ex in examples}) >= 2
        self.eval_responses = len({ex.intent for ex in examples if "/" in ex.intent}) >= 2
        self.eval_entities = any(ex.entities for ex in examples)
        self.token_mode = token_mode or RUN
        self.intents: list[tuple] = []        # (target, predicted, text, confidence)
        self.responses: list[tuple] = []
        self.entities: list[tuple] = []       # (targets, predictions, tokens, text)

    def add(self, example: NluExample, parsed: dict) -> None:
        parsed = dict(parsed, entities=[e for e in parsed.get("entities") or ()
                                        if e.get("extractor") not in PRETRAINED])
        text = parsed.get("text", example.text)
        if self.eval_intents:
            intent = undo_fallback(parsed).get("intent") or {}
            self.intents.append((example.intent.split("/", 1)[0], intent.get("name"), text,
                                 intent.get("confidence")))
        if self.eval_responses:
            self.responses.append((example.intent if "/" in example.intent else "",
                                   *_selected(example, parsed), text))
        if self.eval_entities:
            self.entities.append((annotations(example), parsed["entities"],
                                  tokenize(text, self.token_mode) if text else [], text))

    def report(self) -> dict:
        return {"intent_evaluation": self._intents() if self.intents else None,
                "entity_evaluation": self._entities() if self.entities else None,
                "response_selection_evaluation": self._responses() if self.responses else None}

    def _intents(self) -> dict:
        rows = [(t, "" if p is None else p, text, c) for t, p, text, c in self.intents if t]
        out = _scored([r[0] for r in rows], [r[1] for r in rows])
        out["predictions"] = [{"text": text, "intent": t, "predicted": p, "confidence": c}
                              for t, p, text, c in rows]
        out["errors"] = [{"text": text, "intent": t,
                          "intent_prediction": {"name": p, "confidence": c}}
                         for t, p, text, c in rows if t != p]
        return out

    def _responses(self) -> dict:
        rows = [(t, "" if p is None else p, 0.0 if c is None else c, text)
                for t, p, c, text in self.responses if t]
        out = _scored([r[0] for r in rows], [r[1] for r in rows])
        out["predictions"] = [{"text": text, "intent_response_key_target": t,
                               "intent_response_key_prediction": p, "confidence": c}
                              for t, p, c, text in rows]
        out["errors"] = [{"text": text, "intent_response_key_target": t,
                          "intent_response_key_prediction": {"name": p, "confidence": c}}
                         for t, p, c, text in rows if t != p]
        return out

    def _entities(self) -> dict:
        extractors = sorted({e["extractor"] for _t, found, _k, _x in self.entities
                             for e in found if "extractor" in e})
        targets = [[token_label(tok, gold) for tok in tokens]
                   for gold, _found, tokens, _text in self.entities]
        flat = [label for labels in targets for label in labels]
        result = {}
        for name in extractors:
            mine = [[token_label(tok, [e for e in found if e.get("extractor") == name])
                     for tok in tokens] for _gold, found, tokens, _text in self.entities]
            out = _scored(flat, [label for labels in mine for label in labels], NO_ENTITY)
            out["errors"] = [{"text": text, "entities": gold, "predicted_entities": found}
                             for (gold, found, _tokens, text), want, got
                             in zip(self.entities, targets, mine) if want != got]
            result[name] = out
        return result


def _selected(example: NluExample, parsed: dict) -> tuple:
    """(intent_response_key, confidence) the response selector chose for the example's
    retrieval intent (or its default selector), None when there is none."""
    selector = parsed.get("response_selector") or {}
    target = example.intent.split("/", 1)[0]
    key = target if (target in (selector.get("all_retrieval_intents") or ())
                     and target in selector) else "default"
    response = (selector.get(key) or {}).get("response") or {}
    return response.get("intent_response_key"), response.get("confidence")


def evaluate(nlu: Any, examples: list[NluExample]) -> dict:
    """The whole report in one call (no time budget: the server runs Evaluation in slices)."""
    ev = Evaluation(examples, getattr(nlu, "text_tokens", None))
    for ex in examples:
        ev.add(ex, nlu.parse(ex.text))
    return ev.report()
