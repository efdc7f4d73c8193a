"""Rasa's trained MemoizationPolicy lookup vs formc's compiled story memo, key by key.

  memo_lookup_diff.py [BOT ...] [--all] [--cache DIR] [--show N]
BOT is a corpus bot (`formbot`, `../shared/corpus/<name>`), an oracle bot (`tests/oracles/<name>`,
assembled as tests/test_oracle_conformance.py does) or a bot folder. `--all`: every corpus bot and
every oracle bot. Rasa's side: the bot is copied to a scratch folder (2.x domains migrated with
`rasa data migrate`), its policies kept except the neural ones (a custom policy module the copy
lacks: RulePolicy with its options, see stand_in_custom) (TEDPolicy, UnexpecTEDIntentPolicy:
they do not change the memo lookup nor RulePolicy's rule-only data), trained with `rasa train
core` (Rasa 3.6.21 in $RASA_VENV, default ~/rasa-venv, as the baseline's install.sh), and the model's
`memorized_turns.json` (MemoizationPolicy's `lookup`, decompressed) and `rule_only_data.json`
(RulePolicy) are read back; the dump is cached in --cache (default /tmp/memo-lookup-cache) by the
sources' digest. formc's side: the compiled StoryMemo's trie written as Rasa's feature keys.
Prints per bot: keys only in Rasa, only in formc, with another action, and the rule-only data
of both; exit 1 when any bot differs.
"""
from __future__ import annotations

import argparse
import base64
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
SHARED = os.environ.get("FORMC_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
CORPUS = os.path.join(SHARED, "corpus")
ORACLES = os.path.join(ROOT, "tests", "oracles")
RASA_VENV = os.environ.get("RASA_VENV") or os.path.expanduser("~/rasa-venv")
NEURAL = {"TEDPolicy", "UnexpecTEDIntentPolicy"}
SKIP = {"medicare-masterclass-md": "a Rasa 1.x project (MappingPolicy, FormPolicy): Rasa 3.6 cannot train it"}
RULE_OPTIONS = ("core_fallback_threshold", "core_fallback_action_name", "enable_fallback_prediction",
                "restrict_rules", "check_for_contradictions")


def stand_in_custom(cfg: dict) -> list[str]:
    """A custom policy whose module the corpus copy lacks (its name is a module path) is trained
    as RulePolicy with the RulePolicy options it sets (rasa-ch-faq's AskAgainRulePolicy); custom
    NLU components are dropped (`rasa train core` loads them, core data needs none). Changes cfg;
    -> what was replaced."""
    replaced = []
    policies = []
    for pol in cfg.get("policies") or []:
        if isinstance(pol, dict) and "." in str(pol.get("name", "")):
            replaced.append(f"{pol['name']} -> RulePolicy")
            pol = {"name": "RulePolicy", **{k: pol[k] for k in RULE_OPTIONS if k in pol}}
        policies.append(pol)
    if policies:
        cfg["policies"] = policies
    pipeline = [c for c in cfg.get("pipeline") or [] if "." not in str((c or {}).get("name", ""))]
    if len(pipeline) != len(cfg.get("pipeline") or []):
        replaced.append("custom NLU components dropped")
        cfg["pipeline"] = pipeline
    return replaced


# ------------------------------------------------------------------------------ bots
def oracle_bots() -> list[str]:
    return sorted(os.path.basename(os.path.dirname(p)) for p in
                  glob.glob(os.path.join(ORACLES, "*", "bot")) + glob.glob(os.path.join(ORACLES, "*", "corpus.txt")))


def corpus_bots() -> list[str]:
    return sorted(d for d in os.listdir(CORPUS) if os.path.isdir(os.path.join(CORPUS, d)))


def assemble(bot: str, scratch: str) -> str:
    """-> a folder holding the whole bot (corpus bots: read in place, copied to scratch)."""
    target = os.path.join(scratch, "bot")
    if bot.startswith("corpus:"):
        shutil.copytree(os.path.join(CORPUS, bot[7:]), target,
                        ignore=shutil.ignore_patterns("tests", "actions", "models", ".git"))
        return target
    if os.path.isdir(bot):
        shutil.copytree(bot, target)
        return target
    root = os.path.join(ORACLES, bot)
    if os.path.isdir(os.path.join(root, "bot")):
        shutil.copytree(os.path.join(root, "bot"), target)
        return target
    with open(os.path.join(root, "corpus.txt")) as handle:
        source = os.path.join(CORPUS, handle.read().strip())
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("config.yml", "tests", "actions"))
    shutil.copy(os.path.join(root, "config.yml"), os.path.join(target, "config.yml"))
    if os.path.isdir(os.path.join(root, "extra")):
        shutil.copytree(os.path.join(root, "extra"), target, dirs_exist_ok=True)
    return target


def digest(folder: str) -> str:
    h = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if os.path.isfile(path) and path.endswith((".yml", ".yaml", ".md", ".json")):
            h.update(os.path.relpath(path, folder).encode())
            with open(path, "rb") as f:
                h.update(f.read())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------- Rasa side
def rasa_ready_copy(bot_dir: str) -> list:
    """Rewrite the scratch copy for `rasa train core`: neural policies out, 2.x domains
    migrated; -> extra CLI args (a domain folder)."""
    cfg_path = os.path.join(bot_dir, "config.yml")
    with open(cfg_path) as f:
        cfg = yaml.safe_load(f) or {}
    # no policies: Rasa trains its defaults (Memoization, Rule, UnexpecTED, TED)
    policies = cfg.get("policies") or [{"name": "MemoizationPolicy"}, {"name": "RulePolicy"}]
    cfg["policies"] = [p for p in policies if not (isinstance(p, dict) and p.get("name") in NEURAL)]
    stand_in_custom(cfg)
    with open(cfg_path, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import prepare_bots                       # noqa: E402 (Rasa's own `rasa data migrate`)
    prepare_bots.RASA_VENV = RASA_VENV
    domain = os.path.join(bot_dir, "domain.yml")
    if os.path.exists(domain):
        prepare_bots.migrate_domain(domain)
        return []
    return ["--domain", "domain"] if os.path.isdir(os.path.join(bot_dir, "domain")) else []


def rasa_dump(bot_dir: str, log_path: str) -> dict:
    """Train the copy with Rasa 3.6 (core only) -> {"lookup": {key: action}, "rule_only_data": ...}."""
    extra = rasa_ready_copy(bot_dir)
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", RASA_MAX_CACHE_SIZE="0",
               SQLALCHEMY_SILENCE_UBER_WARNING="1")
    models = os.path.join(os.path.dirname(bot_dir), "models")
    with open(log_path, "w") as log:
        subprocess.run([os.path.join(RASA_VENV, "bin", "rasa"), "train", "core", "--fixed-model-name", "x",
                        "--out", models, *extra], cwd=bot_dir, env=env, check=True,
                       stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    out: dict = {"lookup": None, "rule_only_data": None}
    if not os.path.exists(os.path.join(models, "x.tar.gz")):
        # end-to-end stories (user texts, bot texts): Rasa trains them only with the NLU
        with open(log_path, "a") as log:
            subprocess.run([os.path.join(RASA_VENV, "bin", "rasa"), "train", "--fixed-model-name", "x",
                            "--out", models, *extra], cwd=bot_dir, env=env, check=True,
                           stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    if not os.path.exists(os.path.join(models, "x.tar.gz")):   # Rasa found nothing to train
        return out
    with tarfile.open(os.path.join(models, "x.tar.gz")) as tar:
        for member in tar.getmembers():
            name = os.path.basename(member.name)
            if name == "memorized_turns.json":
                meta = json.load(tar.extractfile(member))
                out["lookup"] = {_plain(k): v for k, v in meta["lookup"].items()}
            elif name == "rule_only_data.json":
                out["rule_only_data"] = json.load(tar.extractfile(member))
    return out


def _plain(key: str) -> str:
    """A feature key as text (Rasa compresses them by default: zlib + base64)."""
    if key.startswith("["):
        return key
    return zlib.decompress(base64.b64decode(key)).decode("utf-8")


# --------------------------------------------------------------------------- formc side
def formc_dump(bot_dir: str) -> dict:
    from formc.api import compile_project
    machine, diagnostics = compile_project(bot_dir)
    if machine is None:     # a check formc adds (e.g. F612) stops the compile: build as `formc test`
        from formc.api import build_machine
        from formc.reader import read_project
        project, _found = read_project(bot_dir)
        machine = build_machine(project)[0] if project is not None else None
    if machine is None:
        raise RuntimeError("formc compile failed: " + "; ".join(
            d.render() for d in diagnostics if d.is_error)[:1500])
    memo = machine.dialogue.memo
    if memo is None:           # no story (or no memoization policy): nothing reads rule-only data
        return {"lookup": {}, "rule_only_data": None}
    lookup = {}
    paths: dict = {}
    texts = set(getattr(machine.domain, "e2e_actions", ()))
    for i, (parent, state, action, _story, _span, _tid) in enumerate(memo.nodes):
        paths[i] = paths.get(parent, ()) + (memo.states[state],)
        if action is not None:
            lookup[_rasa_key(paths[i], memo.initial_slots, texts)] = action
    return {"lookup": lookup, "rule_only_data": {"rule_only_slots": list(memo.rule_only_slots),
                                                 "rule_only_loops": list(memo.rule_only_loops)}}


def _rasa_key(states: tuple, initial_slots: tuple, texts: set) -> str:
    """formc's key written as Rasa writes it. Two differences of notation only (formc leaves
    them out on both sides, compile time and run time, so matching is the same): Rasa's first
    state holds the slots' initial values, and a bot text is `action_text`, not a name."""
    out = []
    for n, state in enumerate(states):
        d = state.as_rasa()
        if n == 0 and state.prev_action is None and initial_slots:
            d["slots"] = {k: (v if isinstance(v, str) else list(v)) for k, v in initial_slots}
        if state.prev_action in texts:
            d["prev_action"] = {"action_text": state.prev_action}
        out.append(d)
    return json.dumps(out, sort_keys=True).replace('"', "")


# ------------------------------------------------------------------------------ compare
def compare(rasa: dict, formc: dict) -> dict:
    r, f = rasa["lookup"] or {}, formc["lookup"]
    rod_r = {k: sorted(v) for k, v in (rasa["rule_only_data"] or {}).items()}
    if not rasa["rule_only_data"]:
        rod_r = {"rule_only_slots": [], "rule_only_loops": []}
    # formc builds no memo without stories; Rasa's rule-only data then feeds no ML policy
    rod_f = rod_r if formc["rule_only_data"] is None else {
        k: sorted(v) for k, v in formc["rule_only_data"].items()}
    return {"rasa_keys": len(r), "formc_keys": len(f),
            "only_rasa": sorted(k for k in r if k not in f),
            "only_formc": sorted(k for k in f if k not in r),
            "other_action": sorted((k, r[k], f[k]) for k in r if k in f and r[k] != f[k]),
            "rule_only_rasa": rod_r, "rule_only_formc": rod_f}


def run_bot(bot: str, cache: str) -> dict:
    scratch = tempfile.mkdtemp(prefix="memo-diff-")
    try:
        bot_dir = assemble(bot, scratch)
        formc = formc_dump(bot_dir)
        key = os.path.join(cache, f"{bot.replace('/', '_').replace(':', '_')}-{digest(bot_dir)}.json")
        if os.path.exists(key):
            with open(key) as f:
                rasa = json.load(f)
        else:
            rasa = rasa_dump(bot_dir, os.path.join(scratch, "train.log"))
            os.makedirs(cache, exist_ok=True)
            with open(key, "w") as f:
                json.dump(rasa, f, indent=0, sort_keys=True)
        return compare(rasa, formc)
    except subprocess.CalledProcessError:
        with open(os.path.join(scratch, "train.log")) as f:
            tail = f.read()[-1500:]
        return {"error": "rasa train core failed:\n" + tail}
    except RuntimeError as e:
        return {"error": str(e)[:1500]}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def report(bot: str, res: dict, show: int) -> bool:
    if "error" in res:
        print(f"{bot}: ERROR {res['error']}")
        return False
    same = not (res["only_rasa"] or res["only_formc"] or res["other_action"]) and \
        res["rule_only_rasa"] == res["rule_only_formc"]
    print(f"{bot}: Rasa {res['rasa_keys']} keys, formc {res['formc_keys']}; only Rasa "
          f"{len(res['only_rasa'])}, only formc {len(res['only_formc'])}, other action "
          f"{len(res['other_action'])}; rule-only data {'equal' if res['rule_only_rasa'] == res['rule_only_formc'] else 'DIFFERS'}"
          f" -> {'EQUAL' if same else 'DIFFERENT'}")
    for title in ("only_rasa", "only_formc", "other_action"):
        for item in res[title][:show]:
            print(f"  {title}: {item}")
    if res["rule_only_rasa"] != res["rule_only_formc"]:
        print(f"  rule_only Rasa {res['rule_only_rasa']}\n  rule_only formc {res['rule_only_formc']}")
    return same


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("bots", nargs="*")
    ap.add_argument("--all", action="store_true", help="every corpus bot and every oracle bot")
    ap.add_argument("--cache", default="/tmp/memo-lookup-cache")
    ap.add_argument("--show", type=int, default=3, help="differing keys shown per kind")
    a = ap.parse_args()
    bots = list(a.bots)
    if a.all:
        bots += [f"corpus:{b}" for b in corpus_bots()] + oracle_bots()
    ok = True
    for bot in bots:
        if bot.startswith("corpus:") and bot[7:] in SKIP:
            print(f"{bot}: skipped ({SKIP[bot[7:]]})")
            continue
        if not bot.startswith("corpus:") and not os.path.isdir(bot) and \
                not os.path.isdir(os.path.join(ORACLES, bot)):
            bot = f"corpus:{bot}"
        ok = report(bot, run_bot(bot, a.cache), a.show) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
