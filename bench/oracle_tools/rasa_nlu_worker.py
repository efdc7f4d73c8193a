"""Job JSON (config, per fold: NLU train file, output dir, test texts) -> parses JSON, via real Rasa 3.6.

Runs under the Rasa venv's Python (3.10), never under formc's:
  $RASA_VENV/bin/python rasa_nlu_worker.py JOB.json OUT.json
Each fold is trained with `rasa.model_training.train_nlu` (the function `rasa train nlu` calls) and
loaded with `Agent.load`; every test text goes through `Agent.parse_message`. One process for all
folds so Rasa's ~10 s import cost is paid once. Driven by rasa_cv_parity.py and entity_f1.py.
"""
import asyncio
import json
import sys
import time


def main() -> None:
    job_path, out_path = sys.argv[1], sys.argv[2]
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    results = []
    for fold in job["folds"]:
        t0 = time.perf_counter()
        model = train_nlu(job["config"], fold["nlu"], fold["out"], fixed_model_name="fold")
        t_train = time.perf_counter() - t0
        agent = Agent.load(model)

        async def parse_all():
            return [await agent.parse_message(t) for t in fold["tests"]]

        parses = asyncio.run(parse_all())
        results.append({"train_s": round(t_train, 2),
                        "parses": [{"intent": p.get("intent"),
                                    "intent_ranking": p.get("intent_ranking") or [],
                                    "entities": p.get("entities") or []}
                                   for p in parses]})
        print(f"rasa fold trained in {t_train:.1f}s, {len(parses)} parses", file=sys.stderr,
              flush=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
