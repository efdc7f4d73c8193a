"""Packaging check: build formc's wheel, install it (not editable) into a fresh venv outside the
checkout, and run `formc compile`, `formc parse` and `formc serve` (one REST webhook turn) from a
directory outside the checkout. Exit 0 when all of it worked, 1 with the failing step otherwise.

    python .ci/package_check.py [--deps-from SITE_PACKAGES] [--keep]

Without --deps-from the venv installs formc's dependencies from the package index, as a user's
`pip install formc-*.whl` would; with it (the test suite, to stay fast) the wheel goes in with
--no-deps and the given site-packages directory provides the dependencies through a .pth line
(a plain path line: that directory's own .pth files, e.g. an editable formc, are not run).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                              "tests", "bench", "docs", "*.fsm", "formc.db*", "node_modules")


def run(cmd: list, cwd: str, timeout: float = 600, env: dict | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"package check: `{' '.join(map(str, cmd))}` failed "
                         f"(exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def build_wheel(work: str) -> str:
    """Build from a copy of the sources, so a stale build/ in the checkout can't leak in."""
    src = os.path.join(work, "src")
    shutil.copytree(ROOT, src, ignore=SKIP)
    wheels = os.path.join(work, "wheels")
    run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "-q", "-w", wheels], cwd=src)
    (wheel,) = [f for f in os.listdir(wheels) if f.endswith(".whl")]
    shutil.rmtree(src)
    return os.path.join(wheels, wheel)


def make_venv(work: str, wheel: str, deps_from: str | None) -> str:
    venv = os.path.join(work, "venv")
    run([sys.executable, "-m", "venv", venv], cwd=work)
    py = os.path.join(venv, "bin", "python")
    if deps_from:
        run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], cwd=work)
        site = run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=work)
        with open(os.path.join(site.strip(), "zz_formc_deps.pth"), "w") as f:
            f.write(os.path.abspath(deps_from) + "\n")
    else:
        run([py, "-m", "pip", "install", "-q", wheel], cwd=work)
    where = run([py, "-c", "import formc, os; print(os.path.dirname(formc.__file__))"], cwd=work)
    if where.strip().startswith(ROOT):
        raise SystemExit(f"package check: formc was imported from the checkout ({where.strip()})")
    return os.path.join(venv, "bin", "formc")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_one_turn(formc: str, fsm: str, work: str) -> list:
    port = free_port()
    env = dict(os.environ, FORMC_LOG_TURNS="0")
    proc = subprocess.Popen([formc, "serve", fsm, "--host", "127.0.0.1", "--port", str(port),
                             "--store", "sqlite:///" + os.path.join(work, "formc.db")],
                            cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            try:
                body = json.dumps({"sender": "pkg", "message": "hi"}).encode()
                req = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                                             data=body, headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=10) as resp:
                    return json.loads(resp.read())
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                    raise SystemExit(f"package check: formc serve did not answer:\n{out[-3000:]}")
                time.sleep(0.2)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def check(work: str, deps_from: str | None) -> None:
    wheel = build_wheel(work)
    formc = make_venv(work, wheel, deps_from)
    outside = os.path.join(work, "elsewhere")
    os.makedirs(outside)
    bot = os.path.join(outside, "restaurant")
    shutil.copytree(os.path.join(ROOT, "examples", "restaurant"), bot)
    fsm = os.path.join(outside, "restaurant.fsm")
    print(run([formc, "compile", bot, "-o", fsm], cwd=outside).strip())
    parsed = json.loads(run([formc, "parse", fsm, "a table for 4, italian food please"], cwd=outside))
    if not (parsed.get("intent") or {}).get("name"):
        raise SystemExit(f"package check: formc parse gave no intent: {parsed}")
    print(f"parse: intent {parsed['intent']['name']}")
    messages = serve_one_turn(formc, fsm, outside)
    if not messages or not messages[0].get("text"):
        raise SystemExit(f"package check: the webhook answered {messages!r}")
    print(f"serve: the webhook answered {messages[0]['text']!r}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deps-from", help="site-packages providing the dependencies (no index)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="formc-pkg-")
    try:
        check(work, args.deps_from)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("package check: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
