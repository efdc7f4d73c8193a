"""Annotated vs predicted entities -> precision / recall / F1 per entity label and overall (micro).

An entity's label is its type, with its role and group when it has them ("city.departure",
"size.1"), as Rasa's `rasa test nlu` concatenates them. A prediction counts as right when an
annotation has the same label, start and end; repeated predictions of one span count once.
"""

from __future__ import annotations

from typing import Iterable, Optional

# entities extracted from payloads or by Duckling are not predictions of the annotations
NOT_PREDICTIONS = frozenset({"RegexMessageHandler", "DucklingEntityExtractor"})


def label(entity) -> str:
    """type[.role][.group] of an annotation (model.EntityAnnotation) or a parsed entity dict."""
    get = entity.get if isinstance(entity, dict) else (lambda k: getattr(entity, k, None))
    parts = [str(get("entity"))]
    parts += [str(get(k)) for k in ("role", "group") if get(k) is not None]
    return ".".join(parts)


def spans(entities: Iterable, extractors: Optional[set] = None) -> set:
    """{(label, start, end)}; parsed entities from `extractors` only when given."""
    out = set()
    for e in entities:
        if isinstance(e, dict):
            if e.get("extractor") in NOT_PREDICTIONS:
                continue
            if extractors is not None and e.get("extractor") not in extractors:
                continue
            out.add((label(e), e.get("start"), e.get("end")))
        else:
            out.add((label(e), e.start, e.end))
    return out


def _prf(tp: int, n_pred: int, n_gold: int) -> dict:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "support": n_gold}


def entity_report(gold: list[set], predicted: list[set]) -> dict:
    """Per label and micro-averaged P/R/F1 over messages (`gold[i]`, `predicted[i]` from spans)."""
    counts: dict[str, list[int]] = {}            # label -> [tp, predicted, gold]
    for g, p in zip(gold, predicted):
        for item in g | p:
            c = counts.setdefault(item[0], [0, 0, 0])
            c[0] += item in g and item in p
            c[1] += item in p
            c[2] += item in g
    per = {name: _prf(*c) for name, c in sorted(counts.items())}
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {"micro": _prf(*total), "per_entity": per}


def format_entities(rep: dict) -> list[str]:
    """Text lines of an entity_report (empty when no message has an entity)."""
    if not rep or not rep["per_entity"]:
        return []
    m = rep["micro"]
    lines = ["", f"entities: precision {m['precision']:.3f} recall {m['recall']:.3f} "
             f"F1 {m['f1']:.3f} ({m['support']} annotated)",
             f"{'entity':32} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5}"]
    for name, e in rep["per_entity"].items():
        lines.append(f"{name[:32]:32} {e['precision']:6.3f} {e['recall']:6.3f} {e['f1']:6.3f} "
                     f"{e['support']:5d}")
    return lines
