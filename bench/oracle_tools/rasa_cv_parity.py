"""Corpus bot + fold seeds -> per-fold intent accuracy of formc vs real Rasa 3.6 on IDENTICAL folds.

  .venv/bin/python bench/oracle_tools/rasa_cv_parity.py [--bot helpdesk-assistant] [--seeds 0 1 2] [--rasa-cv N]
                   [--folds 5] [--show 5] [--keep]
The folds are formc's own (`formc.nlu.evaluate.cv_splits`, stratified, seeded). Per fold a Rasa
YAML NLU train file is written (the fold's training examples with their entity markup, plus the
bot's regexes / lookups / synonyms exactly as formc read them) into a temp dir, together with the
light pipeline of prepare_bots.py minus the FallbackClassifier (formc's cross-validation scores
without fallback too, so both sides report the arg-max intent). Real Rasa (RASA_VENV, default
/tmp/rasa-venv) trains each fold (`train_nlu`, what `rasa train nlu` runs) and parses the test
texts (rasa_nlu_worker.py); formc compiles the same fold with tests/support/nlu_support.LIGHT and parses
the same texts. Prints, per fold: test size, accuracy of each, predictions that differ, max
|confidence difference| over every intent both rankings list; then means.
Bots are read in place from /work/shared/corpus; nothing is written into the repository.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import OrderedDict

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from support.nlu_support import CORPUS, LIGHT, RASA_RESTAURANT as RESTAURANT, read_bot_nlu, read_domain_names  # noqa: E402
from prepare_bots import light_config  # noqa: E402

from formc.model import NluData, NluExample  # noqa: E402
from formc.nlu.classify import Nlu  # noqa: E402
from formc.nlu.compile import compile_nlu  # noqa: E402
from formc.nlu.evaluate import cv_splits  # noqa: E402

RASA_VENV = os.environ.get("RASA_VENV", "/tmp/rasa-venv")


def parity_config(language: str) -> str:
    """prepare_bots' light config, NLU part only, without the FallbackClassifier."""
    cfg = yaml.safe_load(light_config({"language": language}, "formc-cv-parity"))
    cfg["pipeline"] = [c for c in cfg["pipeline"] if c["name"] != "FallbackClassifier"]
    cfg.pop("policies", None)
    return yaml.safe_dump(cfg, sort_keys=False)


def markup(ex: NluExample) -> str:
    """Example back to Rasa's inline entity markup (plain text when it has no entities)."""
    out, pos = [], 0
    for ent in sorted(ex.entities, key=lambda e: e.start):
        out.append(ex.text[pos:ent.start])
        surface = ex.text[ent.start:ent.end]
        attrs = {"entity": ent.entity}
        if str(ent.value) != surface:
            attrs["value"] = ent.value
        if ent.role:
            attrs["role"] = ent.role
        if ent.group:
            attrs["group"] = ent.group
        out.append(f"[{surface}]{json.dumps(attrs, ensure_ascii=False)}")
        pos = ent.end
    out.append(ex.text[pos:])
    return "".join(out)


class Block(str):
    """An `examples:` string, dumped as a YAML literal block like hand-written Rasa data."""


yaml.SafeDumper.add_representer(
    Block, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|"))


def block(lines: list[str]) -> Block:
    return Block("".join(f"- {line}\n" for line in lines))


def rasa_nlu_yaml(train: tuple, data: NluData) -> str:
    items = []
    by_intent: dict[str, list[str]] = OrderedDict()
    for ex in train:
        by_intent.setdefault(ex.intent, []).append(markup(ex))
    items += [{"intent": i, "examples": block(exs)} for i, exs in by_intent.items()]
    regexes: dict[str, list[str]] = OrderedDict()
    for r in data.regexes:
        regexes.setdefault(r.name, []).append(r.pattern)
    items += [{"regex": n, "examples": block(p)} for n, p in regexes.items()]
    items += [{"lookup": l.name, "examples": block(list(l.elements))} for l in data.lookups]
    syns: dict[str, list[str]] = OrderedDict()
    for s in data.synonyms:
        syns.setdefault(str(s.value), []).append(str(s.text))
    items += [{"synonym": v, "examples": block(t)} for v, t in syns.items()]
    return yaml.safe_dump({"version": "3.1", "nlu": items}, sort_keys=False, allow_unicode=True,
                          width=10 ** 6)


def formc_parses(data: NluData, train: tuple, texts: list[str], language: str, domain) -> list:
    cfg = dataclasses.replace(LIGHT, language=language, fallback_threshold=None)
    model, _ = compile_nlu(dataclasses.replace(data, examples=train), cfg, domain)
    nlu = Nlu.from_dict(model)
    return [nlu.parse(t) for t in texts]


def run_rasa(splits: list, data: NluData, language: str, tmp: str) -> list:
    cfg_path = os.path.join(tmp, "config.yml")
    with open(cfg_path, "w", encoding="utf-8") as f:
        f.write(parity_config(language))
    job = {"config": cfg_path, "folds": []}
    for k, (train, test) in enumerate(splits):
        path = os.path.join(tmp, f"fold{k}_nlu.yml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(rasa_nlu_yaml(train, data))
        with open(os.path.join(tmp, f"fold{k}_test.json"), "w", encoding="utf-8") as f:
            json.dump([[ex.text, lab] for ex, lab in test], f, ensure_ascii=False, indent=0)
        job["folds"].append({"nlu": path, "out": os.path.join(tmp, f"models{k}"),
                             "tests": [ex.text for ex, _ in test]})
    job_path, out_path = os.path.join(tmp, "job.json"), os.path.join(tmp, "rasa_out.json")
    with open(job_path, "w", encoding="utf-8") as f:
        json.dump(job, f, ensure_ascii=False)
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", RASA_MAX_CACHE_SIZE="0",
               HOME=tmp)  # keeps Rasa's cache / telemetry config out of the real home
    done = subprocess.run([os.path.join(RASA_VENV, "bin", "python"),
                           os.path.join(HERE, "rasa_nlu_worker.py"), job_path, out_path],
                          cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    if done.returncode:   # Rasa's (long) warnings are only worth showing when it failed
        sys.exit(f"the Rasa worker failed:\n{done.stderr}")
    with open(out_path, encoding="utf-8") as f:
        return json.load(f)


def compare(test: list, mine: list, theirs: list) -> dict:
    n = len(test)
    ok_f = ok_r = differ = 0
    dall = 0.0
    diffs = []
    for (ex, lab), pf, pr in zip(test, mine, theirs):
        nf, nr = pf["intent"]["name"], pr["intent"]["name"]
        ok_f += nf == lab
        ok_r += nr == lab
        if nf != nr:
            differ += 1
            diffs.append((ex.text, lab, nf, round(float(pf["intent"]["confidence"]), 4),
                          nr, round(float(pr["intent"]["confidence"]), 4)))
        rf = {r["name"]: float(r["confidence"]) for r in pf.get("intent_ranking") or []}
        rr = {r["name"]: float(r["confidence"]) for r in pr.get("intent_ranking") or []}
        for name in rf.keys() & rr.keys():
            dall = max(dall, abs(rf[name] - rr[name]))
    return {"n": n, "acc_formc": ok_f / n, "acc_rasa": ok_r / n, "differ": differ,
            "dall": dall, "diffs": diffs}


def rasa_own_cv(data: NluData, language: str, folds: int, runs: int) -> None:
    tmp = tempfile.mkdtemp(prefix="formc-rasa-cv-")
    try:
        with open(os.path.join(tmp, "nlu.yml"), "w", encoding="utf-8") as f:
            f.write(rasa_nlu_yaml(tuple(data.examples), data))
        with open(os.path.join(tmp, "config.yml"), "w", encoding="utf-8") as f:
            f.write(parity_config(language))
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", HOME=tmp)
        for run in range(runs):
            done = subprocess.run(
                [os.path.join(RASA_VENV, "bin", "rasa"), "test", "nlu", "--nlu", "nlu.yml",
                 "--config", "config.yml", "--cross-validation", "--folds", str(folds),
                 "--out", f"results{run}"], cwd=tmp, env=env, capture_output=True, text=True)
            found = [line.split("test Accuracy:")[1].strip()
                     for line in (done.stdout + done.stderr).splitlines() if "test Accuracy:" in line]
            print(f"rasa cross-validation run {run + 1}: test accuracy (mean, std of folds) "
                  f"{found[-1] if found else 'not reported: ' + done.stderr[-500:]}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bot", default="helpdesk-assistant")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--show", type=int, default=5, help="differing predictions to list per seed")
    ap.add_argument("--keep", action="store_true", help="keep (and print) the temp dirs")
    ap.add_argument("--rasa-cv", type=int, default=0, metavar="N",
                    help="instead: run Rasa's own `rasa test nlu --cross-validation` N times "
                         "(its folds are random) and print each accuracy")
    args = ap.parse_args()
    root = RESTAURANT if args.bot == "restaurant" else os.path.join(CORPUS, args.bot)
    data, _ = read_bot_nlu(root)
    domain = read_domain_names(root)
    language = "zh" if args.bot == "rasa-ch-faq" else "en"
    if args.rasa_cv:
        rasa_own_cv(data, language, args.folds, args.rasa_cv)
        return
    print(f"{args.bot}: {len(data.examples)} examples, {len(data.regexes)} regexes, "
          f"{len(data.lookups)} lookups, {len(data.synonyms)} synonyms; {args.folds} folds")
    print(f"{'seed':>4} {'fold':>4} {'test':>5} {'formc':>6} {'rasa':>6} {'differ':>6} "
          f"{'max|dconf|':>10} {'rasa s':>6}")
    seed_means = []
    for seed in args.seeds:
        splits = cv_splits(data, args.folds, seed)
        tmp = tempfile.mkdtemp(prefix=f"formc-cvparity-{args.bot}-s{seed}-")
        try:
            rasa = run_rasa(splits, data, language, tmp)
        finally:
            if args.keep:
                print(f"(temp dir kept: {tmp})")
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        n = ok_f = ok_r = differ = 0
        diffs = []
        for k, ((train, test), res) in enumerate(zip(splits, rasa)):
            texts = [ex.text for ex, _ in test]
            c = compare(test, formc_parses(data, train, texts, language, domain), res["parses"])
            n += c["n"]
            ok_f += round(c["acc_formc"] * c["n"])
            ok_r += round(c["acc_rasa"] * c["n"])
            differ += c["differ"]
            diffs += [(k, *d) for d in c["diffs"]]
            print(f"{seed:4d} {k:4d} {c['n']:5d} {c['acc_formc']:6.3f} {c['acc_rasa']:6.3f} "
                  f"{c['differ']:6d} {c['dall']:10.2e} {res['train_s']:6.1f}", flush=True)
        seed_means.append((ok_f / n, ok_r / n))
        print(f"{seed:4d} {'all':>4} {n:5d} {ok_f / n:6.3f} {ok_r / n:6.3f} {differ:6d}")
        for d in diffs[:args.show]:
            print(f"     differs (fold {d[0]}): {d[1]!r} true={d[2]} formc={d[3]}:{d[4]} "
                  f"rasa={d[5]}:{d[6]}")
    if len(seed_means) > 1:
        mf, mr = (sum(m[i] for m in seed_means) / len(seed_means) for i in range(2))
        print(f"mean over seeds {args.seeds}: formc {mf:.4f}  rasa {mr:.4f}")


if __name__ == "__main__":
    main()
