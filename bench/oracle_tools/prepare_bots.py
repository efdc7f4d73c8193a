"""Source bots (examples/, ../shared/corpus/) -> the exact copies recorded.

Our own bots go to tests/oracles/<bot>/bot/. Corpus bots are assembled in a scratch folder
(FORMC_ORACLE_WORK, default /tmp/formc-oracle-bots/<bot>/bot) and only our own parts are kept
in the repository (tests/oracles/<bot>/: config.yml, corpus.txt, extra/): corpus files are never
copied into the repository; the conformance test reassembles the bot from ../shared/corpus.

  prepare_bots.py [bot ...]          (needs Rasa 3.6 in $RASA_VENV, default /tmp/rasa-venv, for
                                      `rasa data migrate` of 2.x domains)
Each copy gets the LIGHT config (deterministic: LogisticRegression intents, regex/lookup entities,
FallbackClassifier keeping the bot's thresholds or 0.7, MemoizationPolicy + RulePolicy keeping the
bot's RulePolicy options). ResponseSelector is dropped (ML). 2.x domains are migrated by Rasa's own
`rasa data migrate`. Corpus copies keep their LICENSE/NOTICE and get a SOURCE.md note.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("FORMC_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
CORPUS = os.path.join(SHARED, "corpus")
RASA_VENV = os.environ.get("RASA_VENV", "/tmp/rasa-venv")
OUT = os.path.join(ROOT, "tests", "oracles")
WORK = os.environ.get("FORMC_ORACLE_WORK", "/tmp/formc-oracle-bots")

# bot id -> (source dir, is corpus bot)
BOTS = {
    "restaurant": (os.path.join(ROOT, "examples", "restaurant"), False),
    "hello": (os.path.join(ROOT, "examples", "hello"), False),
    "moodbot": (os.path.join(CORPUS, "rasa-init-moodbot"), True),
    "rules": (os.path.join(CORPUS, "rules"), True),
    "responseselectorbot": (os.path.join(CORPUS, "responseselectorbot"), True),
    "formbot": (os.path.join(CORPUS, "formbot"), True),
    "helpdesk": (os.path.join(CORPUS, "helpdesk-assistant"), True),
}

# formbot's entities come from Duckling/DIET in the original; the light pipeline only has regexes
# and lookups, so the copy gets them (the validate action accepts these cuisines / positive ints).
FORMBOT_EXTRA_NLU = """version: "3.1"
nlu:
- regex: number
  examples: |
    - \\b\\d{1,3}\\b
- lookup: cuisine
  examples: |
    - caribbean
    - chinese
    - french
    - greek
    - indian
    - italian
    - mexican
    - swedish
    - thai
- lookup: seating
  examples: |
    - outside
    - inside
    - outdoors
    - indoors
"""


# helpdesk-assistant's e-mail addresses come from Duckling and its priorities from DIET in the
# original; the light pipeline gets a regex `email` and a lookup `priority` instead (the corpus
# synonyms still map urgent/escalated/... to `high`). Rasa's RegexEntityExtractor only uses
# patterns of entities annotated in some training example, so a few `inform` examples annotate
# `email` (without them no address is ever extracted).
HELPDESK_EXTRA_NLU = """version: "3.1"
nlu:
- intent: inform
  examples: |
    - my email is [jane.doe@example.com](email)
    - [john.smith@example.org](email)
    - it's [it.support@company.com](email)
- regex: email
  examples: |
    - [A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}
- lookup: priority
  examples: |
    - low
    - medium
    - high
    - urgent
    - critical
    - escalated
    - escalate
"""

# bot -> (extra data file of ours, what it adds) for corpus bots whose entities need Duckling/DIET
EXTRA_NLU = {
    "formbot": (FORMBOT_EXTRA_NLU, "regex `number`, lookups `cuisine`, `seating`"),
    "helpdesk": (HELPDESK_EXTRA_NLU, "regex `email`, lookup `priority`"),
}
ACTION_NOTES = {
    "formbot": "validate_restaurant_form is served by tests/actions/formbot.py (rasa-sdk)",
    "helpdesk": "the custom actions are served by tests/actions/helpdesk_assistant.py (rasa-sdk, "
                "local mode)",
}


def light_config(src_cfg: dict, assistant_id: str) -> str:
    fallback = {"threshold": 0.7}
    for comp in src_cfg.get("pipeline") or []:
        if isinstance(comp, dict) and comp.get("name") == "FallbackClassifier":
            fallback = {k: comp[k] for k in ("threshold", "ambiguity_threshold") if k in comp}
    rule_opts = {}
    for pol in src_cfg.get("policies") or []:
        if isinstance(pol, dict) and pol.get("name") == "RulePolicy":
            rule_opts = {k: v for k, v in pol.items() if k != "name"}
    cfg = {
        "recipe": "default.v1",
        "language": src_cfg.get("language") or "en",
        "assistant_id": assistant_id,
        "pipeline": [
            {"name": "WhitespaceTokenizer"},
            {"name": "RegexFeaturizer"},
            {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
            {"name": "LogisticRegressionClassifier"},
            {"name": "RegexEntityExtractor", "use_lookup_tables": True, "use_regexes": True,
             "use_word_boundaries": True},
            {"name": "EntitySynonymMapper"},
            {"name": "FallbackClassifier", **fallback},
        ],
        "policies": [{"name": "MemoizationPolicy"}, {"name": "RulePolicy", **rule_opts}],
    }
    head = "# LIGHT config for the Rasa 3.6 conformance oracle (written by bench/oracle_tools/prepare_bots.py)\n"
    return head + yaml.safe_dump(cfg, sort_keys=False)


def migrate_domain(path: str) -> None:
    """Rewrite a 2.x domain with Rasa 3.6's own `rasa data migrate`."""
    with open(path) as f:
        if not str(yaml.safe_load(f).get("version", "3")).startswith("2"):
            return
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(path, os.path.join(tmp, "domain.yml"))
        env = dict(os.environ, RASA_TELEMETRY_ENABLED="false")
        subprocess.run([os.path.join(RASA_VENV, "bin", "rasa"), "data", "migrate", "-d", "domain.yml",
                        "--out", "migrated.yml"], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(os.path.join(tmp, "migrated.yml")) as f:
            text = f.read()
    with open(path, "w") as f:
        f.write("# Migrated from the 2.x original by `rasa data migrate` (Rasa 3.6.21)\n" + text)


def prepare(bot: str) -> str:
    src, corpus = BOTS[bot]
    dst = os.path.join(WORK if corpus else OUT, bot, "bot")
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(os.path.join(dst, "data"))
    shutil.copy(os.path.join(src, "domain.yml"), os.path.join(dst, "domain.yml"))
    for fn in sorted(os.listdir(os.path.join(src, "data"))):
        shutil.copy(os.path.join(src, "data", fn), os.path.join(dst, "data", fn))
    for fn in ("endpoints.yml", "LICENSE", "NOTICE"):
        if os.path.exists(os.path.join(src, fn)):
            shutil.copy(os.path.join(src, fn), os.path.join(dst, fn))
    with open(os.path.join(src, "config.yml")) as f:
        src_cfg = yaml.safe_load(f) or {}
    with open(os.path.join(dst, "config.yml"), "w") as f:
        f.write(light_config(src_cfg, f"formc-oracle-{bot}"))
    migrate_domain(os.path.join(dst, "domain.yml"))
    changes = ["config.yml replaced by the light deterministic config"]
    if bot in EXTRA_NLU:
        text, what = EXTRA_NLU[bot]
        with open(os.path.join(dst, "data", "oracle_entities.yml"), "w") as f:
            f.write(text)
        changes.append(f"data/oracle_entities.yml added ({what}) "
                       "because the light pipeline has no Duckling/DIET entity extraction")
    if bot in ACTION_NOTES:
        changes.append(ACTION_NOTES[bot])
    if corpus:
        changes.append("domain.yml migrated with `rasa data migrate` when it was a 2.x domain")
        rel = os.path.relpath(src, SHARED)
        with open(os.path.join(dst, "SOURCE.md"), "w") as f:
            f.write(f"# {bot} (conformance-test copy)\n\nA modified copy of `../shared/{rel}` "
                    "(Apache-2.0, see LICENSE), kept here only as the exact bot that the recorded "
                    "Rasa 3.6.21 conversations in `..` were captured from.\n\nChanges:\n"
                    + "".join(f"- {c}\n" for c in changes))
    if corpus:  # keep only our own parts in the repository
        mine = os.path.join(OUT, bot)
        os.makedirs(mine, exist_ok=True)
        shutil.copy(os.path.join(dst, "config.yml"), os.path.join(mine, "config.yml"))
        with open(os.path.join(mine, "corpus.txt"), "w") as f:
            f.write(os.path.basename(src.rstrip("/")) + "\n")
        if bot in EXTRA_NLU:
            os.makedirs(os.path.join(mine, "extra", "data"), exist_ok=True)
            shutil.copy(os.path.join(dst, "data", "oracle_entities.yml"),
                        os.path.join(mine, "extra", "data", "oracle_entities.yml"))
    return dst


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bots", nargs="*", default=list(BOTS))
    for bot in ap.parse_args().bots:
        print(bot, "->", prepare(bot))


if __name__ == "__main__":
    sys.exit(main())
