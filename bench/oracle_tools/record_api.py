"""Record real Rasa 3.6's answers to the HTTP API calls of api_calls.py -> tests/oracles/api/rasa.json.

  record_api.py [--port 5106]
Trains and serves tests/oracles/edge3 with Rasa (record.rasa_server) and stores, per call, the
HTTP status and the JSON body (or text when the body is not JSON).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_calls import CALLS  # noqa: E402
from record import ORACLES, rasa_server  # noqa: E402


def call(base: str, method: str, path: str, body) -> dict:
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as reply:
            status, raw = reply.status, reply.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return {"status": status, "json": json.loads(raw)}
    except ValueError:
        return {"status": status, "text": raw.decode("utf-8", "replace")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=5106)
    a = ap.parse_args()
    out = {}
    with rasa_server("edge3", a.port, a.port + 50) as (base, _status):
        for name, method, path, body in CALLS:
            out[name] = call(base, method, path, body)
            print(name, out[name]["status"])
    with open(os.path.join(ORACLES, "api", "rasa.json"), "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
