"""Corpus bots -> entity precision/recall/F1 on 5 folds: formc (its own config) vs real Rasa 3.6 CRF and DIET.

  .venv/bin/python bench/entity_f1.py [--bots formbot rasa-demo ...] [--rasa crf diet]
                   [--diet-epochs 40] [--big-diet-epochs 10] [--big-folds 5] [--folds 5]
                   [--diet-bots BOT ...] [--cache DIR]
Folds are formc's (`formc.nlu.evaluate.cv_splits`, stratified per intent, seed 0). formc compiles
each fold with the bot's own config.yml (a DIETClassifier there means formc's CRF stand-in) and
parses the held-out texts; the metric (`formc.nlu.entity_eval`: exact label+start+end, label =
type[.role][.group], micro-averaged) counts the entities of the CRF / DIET extractors only.
With --rasa crf / diet (and RASA_VENV, default ~/rasa-venv, as the baseline's install.sh, present) real Rasa trains the
same folds: "CRF" = WhitespaceTokenizer (JiebaTokenizer for Chinese), RegexFeaturizer (when
the bot has one), CountVectorsFeaturizer (char_wb 1-4), CRFEntityExtractor at its defaults,
EntitySynonymMapper; "DIET" = the bot's own pipeline minus what cannot run offline or is not
about entities (ConveRT/spaCy/BERT/custom tokenizers become WhitespaceTokenizer, or
JiebaTokenizer for Chinese; Duckling, spaCy, ResponseSelector, FallbackClassifier dropped),
DIET epochs capped at --diet-epochs (--big-diet-epochs above 1,000 examples, where --big-folds
can also cut the folds, for every column) because the machine has 2 cores. Rasa's answers are
cached in --cache so a rerun only redoes formc.
Corpus bots are read in place; nothing is written into the repository.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests"), os.path.join(HERE, "oracle_tools")]

from support.nlu_support import CORPUS, read_bot_config, read_bot_nlu, read_domain_names  # noqa: E402
from rasa_cv_parity import rasa_nlu_yaml  # noqa: E402

from formc.nlu.classify import Nlu  # noqa: E402
from formc.nlu.compile import compile_nlu  # noqa: E402
from formc.nlu.entity_eval import entity_report, spans  # noqa: E402
from formc.nlu.evaluate import cv_splits  # noqa: E402

RASA_VENV = os.environ.get("RASA_VENV") or os.path.expanduser("~/rasa-venv")
BOTS = ["formbot", "rules", "rasa-demo", "financial-demo", "carbon-bot", "helpdesk-assistant",
        "knowledgebasebot", "medicare-masterclass-md", "rasa-ch-faq"]
TRAINED = {"CRFEntityExtractor", "DIETClassifier"}
KEEP = {"WhitespaceTokenizer", "RegexFeaturizer", "LexicalSyntacticFeaturizer",
        "CountVectorsFeaturizer", "DIETClassifier", "CRFEntityExtractor", "EntitySynonymMapper"}


def bot_config(root: str) -> dict:
    path = os.path.join(root, "config.yml")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def tokenizer(own: dict) -> str:
    """Rasa refuses WhitespaceTokenizer for Chinese: JiebaTokenizer there."""
    return "JiebaTokenizer" if str(own.get("language", "en")).startswith("zh") else \
        "WhitespaceTokenizer"


def crf_config(own: dict) -> dict:
    names = {str(c.get("name", "")).rsplit(".", 1)[-1] for c in own.get("pipeline") or []}
    pipeline = [{"name": tokenizer(own)}]
    if "RegexFeaturizer" in names:
        pipeline.append({"name": "RegexFeaturizer"})
    pipeline += [{"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1,
                  "max_ngram": 4}, {"name": "CRFEntityExtractor"},
                 {"name": "EntitySynonymMapper"}]
    return {"recipe": "default.v1", "language": own.get("language", "en"),
            "pipeline": pipeline, "assistant_id": "formc-entity-f1"}


def diet_config(own: dict, epochs: int):
    """The bot's own pipeline, runnable offline; None without a DIETClassifier."""
    pipeline = []
    for comp in own.get("pipeline") or []:
        name = str(comp.get("name", "")).rsplit(".", 1)[-1]
        if name.endswith("Tokenizer") and not any(c["name"].endswith("Tokenizer")
                                                  for c in pipeline):
            pipeline.append({"name": tokenizer(own)})
        elif name in KEEP and name != "WhitespaceTokenizer":
            entry = {k: v for k, v in comp.items()}
            entry["name"] = name
            if name == "DIETClassifier":
                entry["epochs"] = min(int(entry.get("epochs", 300)), epochs)
            pipeline.append(entry)
    if not any(c["name"] == "DIETClassifier" for c in pipeline):
        return None
    if not any(c["name"].endswith("Tokenizer") for c in pipeline):
        pipeline.insert(0, {"name": tokenizer(own)})
    return {"recipe": "default.v1", "language": own.get("language", "en"),
            "pipeline": pipeline, "assistant_id": "formc-entity-f1"}


def run_rasa(kind: str, config: dict, splits: list, data, cache: str, bot: str) -> list:
    """Rasa's entities per fold and test text (cached in `cache`)."""
    out_path = os.path.join(cache, f"{bot}-{kind}.json")
    if os.path.exists(out_path):
        with open(out_path, encoding="utf-8") as handle:
            return json.load(handle)
    tmp = tempfile.mkdtemp(prefix=f"formc-entity-f1-{bot}-{kind}-")
    with open(os.path.join(tmp, "config.yml"), "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    job = {"config": os.path.join(tmp, "config.yml"), "folds": []}
    for k, (train, test) in enumerate(splits):
        path = os.path.join(tmp, f"fold{k}_nlu.yml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(rasa_nlu_yaml(train, data))
        job["folds"].append({"nlu": path, "out": os.path.join(tmp, f"models{k}"),
                             "tests": [ex.text for ex, _ in test]})
    with open(os.path.join(tmp, "job.json"), "w", encoding="utf-8") as handle:
        json.dump(job, handle, ensure_ascii=False)
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", RASA_MAX_CACHE_SIZE="0", HOME=tmp)
    done = subprocess.run([os.path.join(RASA_VENV, "bin", "python"),
                           os.path.join(HERE, "oracle_tools", "rasa_nlu_worker.py"),
                           os.path.join(tmp, "job.json"), out_path], cwd=tmp, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        print(f"  rasa {kind} failed on {bot}: {done.stderr[-800:]}", file=sys.stderr)
        return []
    with open(out_path, encoding="utf-8") as handle:
        folds = [{"entities": [p["entities"] for p in fold["parses"]]} for fold in json.load(handle)]
    with open(out_path, "w", encoding="utf-8") as handle:     # the cache keeps just the entities
        json.dump(folds, handle, ensure_ascii=False)
    return folds


def formc_entities(data, config, domain, splits: list) -> list:
    cfg = dataclasses.replace(config, fallback_threshold=None)
    out = []
    for train, test in splits:
        model, _ = compile_nlu(dataclasses.replace(data, examples=train), cfg, domain)
        nlu = Nlu.from_dict(model)
        out.append({"entities": [nlu.parse(ex.text)["entities"] for ex, _ in test]})
    return out


def f1_of(splits: list, folds: list) -> dict:
    gold, found = [], []
    for (_train, test), fold in zip(splits, folds):
        for (ex, _lab), ents in zip(test, fold["entities"]):
            gold.append(spans(ex.entities))
            found.append(spans(ents, TRAINED))
    return entity_report(gold, found)["micro"]


def differing(ours: list, theirs: list) -> int:
    """Test messages whose CRF / DIET entity spans differ between two runs."""
    return sum(spans(a, TRAINED) != spans(b, TRAINED)
               for fa, fb in zip(ours, theirs) for a, b in zip(fa["entities"], fb["entities"]))


def bench_bot(bot: str, args, kinds: tuple) -> dict:
    root = os.path.join(CORPUS, bot)
    data, _ = read_bot_nlu(root)
    config, domain = read_bot_config(root), read_domain_names(root)
    big = len(data.examples) > 1000
    splits = cv_splits(data, 5, 0)[:min(args.folds, args.big_folds if big else 5)]
    row = {"bot": bot, "annotated": sum(len(ex.entities) for ex in data.examples),
           "folds": len(splits),
           "formc": None}
    ours = formc_entities(data, config, domain, splits)
    row["formc"] = f1_of(splits, ours)
    if not os.path.exists(os.path.join(RASA_VENV, "bin", "python")):
        return row
    own = bot_config(root)
    if "crf" in kinds:
        theirs = run_rasa("crf", crf_config(own), splits, data, args.cache, bot) or []
        row["rasa_crf"] = f1_of(splits, theirs)
        row["differ"] = differing(ours, theirs)
    diet = diet_config(own, args.big_diet_epochs if big else args.diet_epochs)
    if "diet" in kinds and diet is not None and (not args.diet_bots or bot in args.diet_bots):
        row["diet_epochs"] = next(c["epochs"] for c in diet["pipeline"]
                                  if c["name"] == "DIETClassifier")
        result = run_rasa("diet", diet, splits, data, args.cache, bot)
        row["rasa_diet"] = f1_of(splits, result) if result else None
    return row


def show(row: dict) -> str:
    def cell(m):
        return f"{m['f1']:.3f} (P {m['precision']:.2f} R {m['recall']:.2f})" if m else "-"
    return (f"{row['bot']:24} {row['annotated']:5} {row['folds']} folds  formc "
            f"{cell(row['formc']):26} rasa CRF {cell(row.get('rasa_crf')):26} rasa DIET "
            f"{cell(row.get('rasa_diet'))}"
            + (f" [{row['diet_epochs']} epochs]" if row.get("diet_epochs") else "")
            + (f"; {row['differ']} message(s) where formc's entities differ from Rasa CRF's"
               if "differ" in row else ""))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bots", nargs="+", default=BOTS)
    ap.add_argument("--rasa", nargs="*", default=[], choices=["crf", "diet"],
                    help="also train real Rasa: crf, diet or both (all CRFs run first)")
    ap.add_argument("--diet-epochs", type=int, default=40)
    ap.add_argument("--big-diet-epochs", type=int, default=10)
    ap.add_argument("--big-folds", type=int, default=5,
                    help="folds used for bots over 1,000 examples (every column alike)")
    ap.add_argument("--folds", type=int, default=5, help="use the first N folds (every column)")
    ap.add_argument("--diet-bots", nargs="*", default=[], help="train DIET for these bots only")
    ap.add_argument("--cache", default="/tmp/formc-entity-f1")
    args = ap.parse_args()
    os.makedirs(args.cache, exist_ok=True)
    print("entity F1 on formc's folds (seed 0); label = type[.role][.group], exact spans")
    if "crf" in args.rasa and "diet" in args.rasa:
        for bot in args.bots:                  # the quick Rasa runs first
            bench_bot(bot, args, ("crf",))
    for bot in args.bots:
        print(show(bench_bot(bot, args, tuple(args.rasa))), flush=True)


if __name__ == "__main__":
    main()
