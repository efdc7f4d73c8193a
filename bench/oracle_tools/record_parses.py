"""Record real Rasa 3.6's /model/parse answers: tests/oracles/<bot>/parses/texts.json -> parses/rasa.json.

  record_parses.py <bot> [--port 5107]
Trains and serves tests/oracles/<bot> with Rasa (record.rasa_server) and stores, per text, the
whole parse (intent, intent_ranking, entities, text_tokens), for tests that compare formc's
tokens and confidences text by text (tests/test_nlu_jieba_oracle.py).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from record import ORACLES, http, rasa_server  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bot")
    parser.add_argument("--port", type=int, default=5107)
    args = parser.parse_args()
    folder = os.path.join(ORACLES, args.bot, "parses")
    with open(os.path.join(folder, "texts.json"), encoding="utf-8") as handle:
        texts = json.load(handle)
    with rasa_server(args.bot, args.port, args.port + 50) as (base, status):
        parses = [http(base + "/model/parse", {"text": text}) for text in texts]
        version = http(base + "/version")
    out = {"rasa": version, "model_fingerprint": status.get("fingerprint"), "parses": parses}
    with open(os.path.join(folder, "rasa.json"), "w", encoding="utf-8") as handle:
        json.dump(out, handle, ensure_ascii=False, indent=1)
        handle.write("\n")
    print(f"{args.bot}: {len(parses)} parses recorded")


if __name__ == "__main__":
    main()
