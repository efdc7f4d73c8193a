"""NluData + config -> k-fold cross-validation report (accuracy, macro-F1, confusions, thresholds, entities).

Folds are stratified per intent with a seeded shuffle, so a report is reproducible. Retrieval
intents are scored on their base intent (what the intent classifier predicts). The fallback is
left out of training/prediction and simulated afterwards for the threshold table.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from typing import Optional

import numpy as np

from ..model import Domain, NluConfig, NluData
from .classify import Nlu
from .compile import compile_nlu, training_examples
from .entity_eval import entity_report, format_entities, spans

THRESHOLDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def fold_ids(labels: list[str], folds: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[label].append(i)
    out = [0] * len(labels)
    offset = 0
    for label in sorted(by_label):
        idx = by_label[label]
        order = rng.permutation(len(idx))
        for rank, j in enumerate(order):
            out[idx[j]] = (offset + rank) % folds
        offset += len(idx)
    return out


def cv_splits(data: NluData, folds: int = 5, seed: int = 0) -> list[tuple[tuple, list]]:
    """-> per fold (train examples, [(test example, base intent)]); folds with an empty side are
    left out. Repeated examples count once, as in Rasa's cross-validation. Exposed so other tools
    (bench/oracle_tools/rasa_cv_parity.py) use the same folds."""
    examples = training_examples(data.examples)
    labels = [ex.intent.split("/", 1)[0] for ex in examples]
    assign = fold_ids(labels, folds, seed)
    out = []
    for k in range(folds):
        train = tuple(ex for ex, f in zip(examples, assign) if f != k)
        test = [(ex, lab) for ex, lab, f in zip(examples, labels, assign) if f == k]
        if train and test:
            out.append((train, test))
    return out


def cross_validate(data: NluData, config: NluConfig, domain: Domain, folds: int = 5,
                   seed: int = 0) -> dict:
    cfg = dataclasses.replace(config, fallback_threshold=None)
    truth, pred, conf, gold, found = [], [], [], [], []
    for train, test in cv_splits(data, folds, seed):
        model, _ = compile_nlu(dataclasses.replace(data, examples=train), cfg, domain)
        nlu = Nlu.from_dict(model)
        for ex, lab in test:
            parsed = nlu.parse(ex.text)
            truth.append(lab)
            pred.append(parsed["intent"]["name"])
            conf.append(float(parsed["intent"]["confidence"] or 0.0))
            gold.append(spans(ex.entities))
            found.append(spans(parsed["entities"]))
    return {**report(truth, pred, conf, folds), "entities": entity_report(gold, found)}


def report(truth: list[str], pred: list, conf: list[float], folds: int) -> dict:
    n = len(truth)
    correct = [t == p for t, p in zip(truth, pred)]
    intents = sorted(set(truth) | {p for p in pred if p is not None})
    per_intent = {}
    f1s = []
    for intent in intents:
        tp = sum(1 for t, p in zip(truth, pred) if t == intent and p == intent)
        fp = sum(1 for t, p in zip(truth, pred) if t != intent and p == intent)
        fn = sum(1 for t, p in zip(truth, pred) if t == intent and p != intent)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        support = tp + fn
        per_intent[intent] = {"precision": round(precision, 4), "recall": round(recall, 4),
                              "f1": round(f1, 4), "support": support}
        if support:
            f1s.append(f1)
    confused = Counter((t, p) for t, p in zip(truth, pred) if t != p)
    table = []
    for th in THRESHOLDS:
        kept = [c for c, x in zip(correct, conf) if x >= th]
        table.append({"threshold": th,
                      "fallback_rate": round(1 - len(kept) / n, 4) if n else 0.0,
                      "accuracy_accepted": round(sum(kept) / len(kept), 4) if kept else 0.0,
                      "accuracy_overall": round(sum(kept) / n, 4) if n else 0.0})
    suggested = _suggest_threshold(correct, conf)
    return {"folds": folds, "examples": n, "suggested_threshold": suggested,
            "accuracy": round(sum(correct) / n, 4) if n else 0.0,
            "macro_f1": round(sum(f1s) / len(f1s), 4) if f1s else 0.0,
            "per_intent": per_intent,
            "most_confused": [{"intent": t, "predicted": p, "count": c}
                              for (t, p), c in sorted(confused.items(),
                                                      key=lambda kv: (-kv[1], kv[0]))[:10]],
            "thresholds": table}


def _suggest_threshold(correct: list[bool], conf: list[float]) -> float:
    """The threshold that maximises right answers kept minus wrong answers kept: a misread
    message answered confidently costs as much as a right one earns (ties: the lower one)."""
    best, best_score = 0.0, None
    for th in THRESHOLDS:
        score = sum((1 if ok else -1) for ok, x in zip(correct, conf) if x >= th)
        if best_score is None or score > best_score:
            best, best_score = th, score
    return best


def evaluate_on(train: NluData, test: list, config: NluConfig, domain: Domain) -> dict:
    """Train on `train`, score the (text, intent[, entity annotations]) items of `test`: same
    report shape."""
    cfg = dataclasses.replace(config, fallback_threshold=None)
    model, _ = compile_nlu(train, cfg, domain)
    nlu = Nlu.from_dict(model)
    truth, pred, conf, gold, found = [], [], [], [], []
    for text, intent, *annotated in test:
        parsed = nlu.parse(text)
        truth.append(intent.split("/", 1)[0])
        pred.append(parsed["intent"]["name"])
        conf.append(float(parsed["intent"]["confidence"] or 0.0))
        gold.append(spans(annotated[0] if annotated else ()))
        found.append(spans(parsed["entities"]))
    return {**report(truth, pred, conf, 0), "entities": entity_report(gold, found)}


def evaluate_bot(bot_dir: str, folds: int = 5, test_file: Optional[str] = None) -> dict:
    """`formc nlu-eval`: cross-validation on the bot's own examples (or a test file) -> the
    report dict; raises FormcError when the bot or the test file cannot be read."""
    from ..errors import Diagnostic, ERROR, FormcError, Reporter, Span
    from ..reader import read_project
    from ..yaml_loader import load_yaml_file
    from .reader import read_nlu_yaml

    project, diagnostics = read_project(bot_dir)
    if project is None or any(d.is_error for d in diagnostics):
        raise FormcError([d for d in diagnostics if d.is_error])
    if not test_file:
        return cross_validate(project.nlu, project.config.nlu, project.domain, folds)
    doc, more = load_yaml_file(test_file)
    rep = Reporter(list(more))
    data = NluData()
    if isinstance(doc, dict) and doc.get("nlu") is not None:
        data, found = read_nlu_yaml(doc["nlu"], test_file)
        rep.extend(found)
    if rep.has_errors or not data.examples:
        raise FormcError(rep.errors() or [Diagnostic(ERROR, "F120", "no NLU examples found",
                                                     Span(test_file))])
    return evaluate_on(project.nlu, [(e.text, e.intent, e.entities) for e in data.examples],
                       project.config.nlu, project.domain)


def format_report(rep: dict) -> str:
    lines = [f"accuracy {rep['accuracy']:.3f}",
             f"macro-F1 {rep['macro_f1']:.3f} over {rep['examples']} examples, {rep['folds']} folds",
             "", f"{'intent':32} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}"]
    for name, m in rep["per_intent"].items():
        lines.append(f"{name[:32]:32} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:6.3f} "
                     f"{m['support']:5d}")
    if rep["most_confused"]:
        lines += ["", "most confused (intent -> predicted: count)"]
        lines += [f"  {c['intent']} -> {c['predicted']}: {c['count']}" for c in rep["most_confused"]]
    lines += ["", f"{'threshold':>9} {'fallback':>9} {'acc(kept)':>10} {'acc(all)':>9}"]
    for row in rep["thresholds"]:
        lines.append(f"{row['threshold']:9.1f} {row['fallback_rate']:9.3f} "
                     f"{row['accuracy_accepted']:10.3f} {row['accuracy_overall']:9.3f}")
    if "suggested_threshold" in rep:
        lines += ["", f"suggested FallbackClassifier threshold: {rep['suggested_threshold']:.1f} "
                  "(keeps the most right answers net of wrong ones)"]
    lines += format_entities(rep.get("entities"))
    return "\n".join(lines)
