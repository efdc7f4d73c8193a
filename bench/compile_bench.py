#!/usr/bin/env python
"""Compile benchmark: synthetic bots with N intents, M forms, K lookup entries.

Prints, per size: compile time (read + check + compile, in process), .fsm size, load time
(parse + rebuild the machine + build the runtime NLU). Target: 1,000 intents with 50 forms
compile in under 1 s and load in under 0.2 s on a 2-core machine.

    python bench/compile_bench.py [--sizes 100 1000 5000] [--forms 50] [--lookup 1000]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from formc.artifact import dumps_machine, loads_machine  # noqa: E402
from formc.api import compile_project  # noqa: E402

WORDS = ("book table order pizza pasta ticket flight hotel room weather news music play stop "
         "cancel change show find list open close help price cost time date city street").split()


def generate_bot(root: str, intents: int, forms: int, lookup: int, examples: int = 4,
                 seed: int = 0) -> None:
    """Write a synthetic but valid Rasa 3.x project to root."""
    rng = random.Random(seed)
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    names = [f"intent_{i}" for i in range(intents)]
    slots_per_form = 3
    with open(os.path.join(root, "domain.yml"), "w") as d:
        d.write('version: "3.1"\nintents:\n')
        d.writelines(f"  - {n}\n" for n in names)
        d.write("entities:\n  - item\n  - number\nslots:\n")
        for f in range(forms):
            for s in range(slots_per_form):
                d.write(f"  f{f}_s{s}:\n    type: text\n    influence_conversation: false\n"
                        f"    mappings:\n      - type: from_entity\n        entity: item\n"
                        f"        conditions:\n          - active_loop: form_{f}\n"
                        f"            requested_slot: f{f}_s{s}\n")
        d.write("forms:\n")
        for f in range(forms):
            d.write(f"  form_{f}:\n    required_slots:\n")
            d.writelines(f"      - f{f}_s{s}\n" for s in range(slots_per_form))
        d.write("responses:\n")
        for n in names:
            d.write(f"  utter_{n}:\n    - text: \"answer for {n}\"\n")
        for f in range(forms):
            for s in range(slots_per_form):
                d.write(f"  utter_ask_f{f}_s{s}:\n    - text: \"value {s} for form {f}?\"\n")
            d.write(f"  utter_done_{f}:\n    - text: \"form {f} done\"\n")
    with open(os.path.join(root, "data", "nlu.yml"), "w") as n:
        n.write('version: "3.1"\nnlu:\n')
        for i, name in enumerate(names):
            n.write(f"- intent: {name}\n  examples: |\n")
            for e in range(examples):
                words = rng.sample(WORDS, 3)
                n.write(f"    - {' '.join(words)} {name.replace('_', ' ')} variant {e}\n")
            if i % 10 == 0:
                n.write(f"    - get [thing{i}](item) now\n")
        n.write("- lookup: item\n  examples: |\n")
        n.writelines(f"    - thing{k}\n" for k in range(lookup))
        n.write("- regex: number\n  examples: |\n    - \\d+\n")
    with open(os.path.join(root, "data", "rules.yml"), "w") as r:
        r.write('version: "3.1"\nrules:\n')
        form_intents = set()
        for f in range(forms):
            trigger = names[f % len(names)]
            form_intents.add(trigger)
            r.write(f"- rule: start form {f}\n  steps:\n  - intent: {trigger}\n"
                    f"  - action: form_{f}\n  - active_loop: form_{f}\n")
            r.write(f"- rule: submit form {f}\n  condition:\n  - active_loop: form_{f}\n"
                    f"  steps:\n  - action: form_{f}\n  - active_loop: null\n"
                    f"  - slot_was_set:\n    - requested_slot: null\n  - action: utter_done_{f}\n")
        for name in names:
            if name not in form_intents:
                r.write(f"- rule: answer {name}\n  steps:\n  - intent: {name}\n"
                        f"  - action: utter_{name}\n")
    with open(os.path.join(root, "config.yml"), "w") as c:
        c.write("language: en\npipeline:\n  - name: WhitespaceTokenizer\n"
                "  - name: RegexEntityExtractor\n  - name: FallbackClassifier\n    threshold: 0.3\n"
                "policies:\n  - name: RulePolicy\n")


def measure(intents: int, forms: int, lookup: int) -> dict:
    with tempfile.TemporaryDirectory() as root:
        generate_bot(root, intents, forms, lookup)
        started = time.perf_counter()
        machine, diagnostics = compile_project(root)
        data = dumps_machine(machine, root) if machine else b""
        compile_s = time.perf_counter() - started
        if machine is None:
            errors = [d.render() for d in diagnostics if d.is_error][:5]
            raise SystemExit(f"synthetic bot did not compile: {errors}")
        started = time.perf_counter()
        loaded = loads_machine(data)
        loaded.nlu.parse("book a table")  # the runtime NLU is built on first use
        load_s = time.perf_counter() - started
        summary = machine.summary()
    return {"intents": intents, "forms": forms, "lookup": lookup, "compile_s": compile_s,
            "size": len(data), "load_s": load_s, **summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--forms", type=int, default=50)
    parser.add_argument("--lookup", type=int, default=1000)
    args = parser.parse_args()
    print(f"{'intents':>8} {'forms':>6} {'lookup':>7} {'states':>7} {'transitions':>11} "
          f"{'compile':>9} {'.fsm size':>12} {'load':>8}")
    for n in args.sizes:
        r = measure(n, args.forms, args.lookup)
        print(f"{r['intents']:>8} {r['forms']:>6} {r['lookup']:>7} {r['states']:>7} "
              f"{r['transitions']:>11} {r['compile_s']*1000:>7.0f}ms {r['size']:>12,} "
              f"{r['load_s']*1000:>6.0f}ms")


if __name__ == "__main__":
    main()
