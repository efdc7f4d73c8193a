"""Test stories passed: `formc test` (with the story back-off standing in for TEDPolicy) next to
`rasa test core` with the bot's own config (TED included), on every corpus bot that names TED.

  bench/ted_backoff.py [BOT ...] [--cap-epochs N] [--cache DIR] [--no-rasa]
Rasa's side (Rasa 3.6.21 in $RASA_VENV, default ~/rasa-venv, as the baseline's install.sh): the corpus bot is copied to a
scratch folder (2.x domains migrated with `rasa data migrate`), trained with `rasa train core`
and its own config (TEDPolicy epochs capped at N with --cap-epochs; the table says so), then
`rasa test core --stories <the bot's test folder> --successes` and the stories in
failed/successful_test_stories.yml are counted. The result is cached (--cache, default
/tmp/ted-backoff-cache) per bot and cap. A custom policy the corpus copy lacks the module of is
trained as RulePolicy with its RulePolicy options, custom NLU components are dropped (the table
says so). formc's side: `formc test BOT --json` (replayed as
`rasa test` does; the back-off is on because these configs name TEDPolicy).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("FORMC_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
CORPUS = os.path.join(SHARED, "corpus")
RASA_VENV = os.environ.get("RASA_VENV") or os.path.expanduser("~/rasa-venv")
TEST_DIRS = ("tests", "test_stories")


def ted_bots() -> list[str]:
    out = []
    for name in sorted(os.listdir(CORPUS)):
        cfg = os.path.join(CORPUS, name, "config.yml")
        if os.path.exists(cfg) and "TEDPolicy" in open(cfg, encoding="utf-8").read():
            out.append(name)
    return out


def test_dir(bot: str) -> str | None:
    for d in TEST_DIRS:
        if os.path.isdir(os.path.join(CORPUS, bot, d)):
            return d
    return None


def formc_result(bot: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        subprocess.run([sys.executable, "-m", "formc", "test", os.path.join(CORPUS, bot), "--json", out],
                       cwd=ROOT, capture_output=True, timeout=1800)
        with open(out) as f:
            return json.load(f)


def _cap(config_path: str, cap: int | None) -> list[str]:
    """Epoch cap and stand-ins for custom components; -> what was replaced (for the table)."""
    with open(config_path, encoding="utf-8") as f:
        cfg = yaml.safe_load(f) or {}
    for pol in cfg.get("policies") or []:
        if isinstance(pol, dict) and pol.get("name") in ("TEDPolicy", "UnexpecTEDIntentPolicy") and cap:
            pol["epochs"] = min(int(pol.get("epochs", 1)), cap)
    sys.path.insert(0, os.path.join(ROOT, "bench", "oracle_tools"))
    from memo_lookup_diff import stand_in_custom
    replaced = stand_in_custom(cfg)
    with open(config_path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, sort_keys=False, allow_unicode=True)
    return replaced


def rasa_result(bot: str, cap: int | None, cache: str) -> dict:
    key = os.path.join(cache, f"{bot}-cap{cap or 0}.json")
    if os.path.exists(key):
        with open(key) as f:
            return json.load(f)
    sys.path.insert(0, os.path.join(ROOT, "bench", "oracle_tools"))
    import prepare_bots
    prepare_bots.RASA_VENV = RASA_VENV
    scratch = tempfile.mkdtemp(prefix=f"ted-{bot}-")
    bot_dir = os.path.join(scratch, "bot")
    shutil.copytree(os.path.join(CORPUS, bot), bot_dir, ignore=shutil.ignore_patterns("models", ".git"))
    replaced = _cap(os.path.join(bot_dir, "config.yml"), cap)
    prepare_bots.migrate_domain(os.path.join(bot_dir, "domain.yml"))
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", RASA_MAX_CACHE_SIZE="0",
               SQLALCHEMY_SILENCE_UBER_WARNING="1", PYTHONPATH=bot_dir)
    rasa = os.path.join(RASA_VENV, "bin", "rasa")
    log = open(os.path.join(scratch, "log.txt"), "w")
    try:
        subprocess.run([rasa, "train", "core", "--fixed-model-name", "x", "--out", "models"], cwd=bot_dir,
                       env=env, check=True, stdout=log, stderr=subprocess.STDOUT, timeout=7200)
        subprocess.run([rasa, "test", "core", "-m", "models/x.tar.gz", "--stories", test_dir(bot),
                        "--out", "results", "--successes"], cwd=bot_dir, env=env, check=True,
                       stdout=log, stderr=subprocess.STDOUT, timeout=3600)
    except subprocess.CalledProcessError as e:
        log.close()
        tail = open(os.path.join(scratch, "log.txt")).read()[-800:]
        return {"error": f"{e.cmd[1:3]} failed: {tail}"}
    log.close()
    count = {}
    for kind in ("failed", "successful"):
        path = os.path.join(bot_dir, "results", f"{kind}_test_stories.yml")
        text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        count[kind] = len(re.findall(r"^- story:", text, re.M))
    result = {"passed": count["successful"], "failed": count["failed"], "stand_ins": replaced}
    os.makedirs(cache, exist_ok=True)
    with open(key, "w") as f:
        json.dump(result, f)
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def _cell(r: dict) -> str:
    if "error" in r:
        return "n/a"
    total = r["passed"] + r["failed"]
    return f"{r['passed']}/{total}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bots", nargs="*")
    ap.add_argument("--cap-epochs", type=int, default=None)
    ap.add_argument("--cache", default="/tmp/ted-backoff-cache")
    ap.add_argument("--no-rasa", action="store_true", help="formc only")
    a = ap.parse_args()
    bots = a.bots or [b for b in ted_bots() if test_dir(b)]
    print(f"| bot | formc test (story back-off) | rasa test core, TED"
          f"{f' (epochs capped at {a.cap_epochs})' if a.cap_epochs else ''} |")
    print("|---|---|---|")
    for bot in bots:
        mine = formc_result(bot)
        theirs = {"error": "skipped"} if a.no_rasa else rasa_result(bot, a.cap_epochs, a.cache)
        note = f" ({theirs['error'][:200]})" if "error" in theirs and not a.no_rasa else ""
        note += f" ({'; '.join(theirs['stand_ins'])})" if theirs.get("stand_ins") else ""
        print(f"| {bot} | {_cell(mine)} | {_cell(theirs)}{note} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
