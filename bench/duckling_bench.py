"""Parse latency with and without DucklingEntityExtractor: p50/p99 per message, in process.

  bench/duckling_bench.py [--n 300]
One small bot compiled four ways: no Duckling; Duckling offline with number + email; offline
with every covered dimension (time included: dateparser); and Duckling asked over HTTP (a local
stand-in server on 127.0.0.1 answering a fixed Duckling-shaped JSON). Prints milliseconds.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from formc.api import compile_project  # noqa: E402

TEXTS = ["I need 3 tickets for tomorrow at 8pm", "hello there", "mail me at a@b.com please",
         "a table for four people", "it costs $10 for 2 hours"]
ANSWER = json.dumps([{"body": "3", "start": 7, "end": 8, "dim": "number", "latent": False,
                      "value": {"value": 3, "type": "value"}}]).encode()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *_args):
        pass


def _bot(root: str, duckling: str) -> str:
    os.makedirs(os.path.join(root, "data"))
    with open(os.path.join(root, "domain.yml"), "w") as f:
        f.write('version: "3.1"\nintents: [book, greet]\nentities: [number, email, time]\n')
    with open(os.path.join(root, "data", "nlu.yml"), "w") as f:
        f.write('version: "3.1"\nnlu:\n- intent: book\n  examples: |\n    - I need 2 tickets\n'
                '    - book 3 seats\n- intent: greet\n  examples: |\n    - hello\n    - hi\n')
    with open(os.path.join(root, "config.yml"), "w") as f:
        f.write("language: en\npipeline:\n- name: WhitespaceTokenizer\n"
                "- name: CountVectorsFeaturizer\n- name: LogisticRegressionClassifier\n"
                "- name: RegexEntityExtractor\n" + duckling + "policies:\n- name: RulePolicy\n")
    return root


def _measure(nlu, n: int) -> tuple[float, float]:
    for text in TEXTS:
        nlu.parse(text)
    times = []
    for i in range(n):
        start = time.perf_counter()
        nlu.parse(TEXTS[i % len(TEXTS)])
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    duck = "- name: DucklingEntityExtractor\n"
    variants = {"no Duckling": "", "offline number+email": duck + "  dimensions: [number, email]\n",
                "offline, all covered dims": duck,
                "server (local stand-in)": duck + f"  url: {url}\n  dimensions: [number]\n"}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, duckling) in enumerate(variants.items()):
            machine, diags = compile_project(_bot(os.path.join(tmp, str(i)), duckling))
            assert machine is not None, [d.render() for d in diags if d.is_error]
            p50, p99 = _measure(machine.nlu, args.n)
            print(f"{name:28s} p50 {p50:7.3f} ms  p99 {p99:7.3f} ms")
    server.shutdown()


if __name__ == "__main__":
    main()
