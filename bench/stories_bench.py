"""Synthetic story bots -> compile time, story state count, memo size; prints the figures.

Usage: .venv/bin/python bench/stories_bench.py [--turns 10] [--sizes 500,1000,2000]
A bot with N stories of T turns (each turn: an intent, then one bot action), drawn with a fixed
seed from 40 intents / 40 responses, is written to a temp dir, read and compiled. The state
count must stay linear in the stories' total length: the ratio states / total turns is printed.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

INTENTS = 40


def write_bot(root: str, stories: int, turns: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    os.makedirs(os.path.join(root, "data"), exist_ok=True)
    with open(os.path.join(root, "domain.yml"), "w") as f:
        f.write('version: "3.1"\nintents:\n' + "".join(f"  - i{k}\n" for k in range(INTENTS)))
        f.write("responses:\n" + "".join(f"  utter_{k}:\n  - text: r{k}\n" for k in range(INTENTS)))
    with open(os.path.join(root, "config.yml"), "w") as f:
        f.write("language: en\npipeline: []\npolicies:\n  - name: MemoizationPolicy\n  - name: RulePolicy\n")
    lines = ['version: "3.1"', "stories:"]
    for n in range(stories):
        lines += [f"- story: s{n}", "  steps:"]
        for _t in range(turns):
            lines += [f"  - intent: i{rng.randrange(INTENTS)}", f"  - action: utter_{rng.randrange(INTENTS)}"]
    with open(os.path.join(root, "data", "stories.yml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def measure(stories: int, turns: int) -> dict:
    from formc.dialogue.compile import compile_dialogue
    from formc.reader import read_project

    with tempfile.TemporaryDirectory() as root:
        write_bot(root, stories, turns)
        t0 = time.perf_counter()
        project, diags = read_project(root)
        t1 = time.perf_counter()
        machine, diags = compile_dialogue(project)
        t2 = time.perf_counter()
    story_states = sum(1 for s in machine.states if s.kind == "story")
    memo = machine.memo
    total = stories * turns
    return {"stories": stories, "turns": total, "read_s": t1 - t0, "compile_s": t2 - t1,
            "story_states": story_states, "memo_nodes": len(memo.nodes) if memo else 0,
            "memo_states": len(memo.states) if memo else 0,
            "conflicts": sum(1 for d in diags if d.code == "F451")}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--sizes", default="500,1000,2000")
    args = parser.parse_args()
    print(f"{'stories':>8} {'turns':>7} {'read s':>7} {'compile s':>9} {'story states':>12} "
          f"{'memo nodes':>10} {'states/turn':>11} {'nodes/turn':>10} {'F451':>5}")
    for size in (int(s) for s in args.sizes.split(",")):
        r = measure(size, args.turns)
        print(f"{r['stories']:>8} {r['turns']:>7} {r['read_s']:>7.2f} {r['compile_s']:>9.2f} "
              f"{r['story_states']:>12} {r['memo_nodes']:>10} {r['story_states'] / r['turns']:>11.3f} "
              f"{r['memo_nodes'] / r['turns']:>10.3f} {r['conflicts']:>5}")


if __name__ == "__main__":
    main()
