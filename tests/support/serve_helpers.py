"""Shared helpers for the server/store tests: free ports, a real redis-server, a formc server process."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from support.shared_paths import ROOT

PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
if not os.path.exists(PYTHON):
    PYTHON = sys.executable
REDIS_SERVER = shutil.which("redis-server")
NO_REDIS = "redis-server is not on PATH (apt-get install -y redis-server)"


_HANDED_OUT: set[int] = set()
ADDRESS_IN_USE = "Address already in use"


def free_port() -> int:
    """A loopback port nobody listens on now, never the same one twice in this test run.

    The port is released before the caller's server binds it, so another process can still
    take it in between; the launchers below retry on a new port when that happens.
    """
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


class RedisServer:
    """A throw-away redis-server on a free loopback port, no persistence."""

    def __init__(self, workdir: str) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", workdir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def http(method: str, url: str, body=None, headers=None, raw: bytes | None = None, timeout=30):
    """-> (status, headers (case-insensitive), parsed JSON or text). Never raises on HTTP errors."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    hdrs = {"Content-Type": "application/json"} if data is not None else {}
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, h, payload = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, h, payload = e.code, e.headers, e.read()
    ctype = h.get("Content-Type", "")
    if "json" in ctype and payload:
        return status, h, json.loads(payload)
    return status, h, payload.decode("utf-8", "replace")


class FormcServer:
    """`python -m formc serve ...` as a subprocess on a free port; waits for GET /version."""

    def __init__(self, fsm: str, *args: str, cwd: str | None = None, port: int | None = None,
                 env: dict | None = None) -> None:
        for attempt in range(3):
            if self._start(fsm, args, cwd, port or free_port(), env):
                return
            if port or attempt == 2:   # a port the test chose (a restart) is not swapped
                raise RuntimeError(f"formc serve exited with {self.proc.returncode}:\n{self.output()}")

    def _start(self, fsm: str, args, cwd, port: int, env) -> bool:
        """Launch and wait for /version; False if the port was taken before the server bound it."""
        self.port = port
        self.log_path = os.path.join(cwd or ROOT, f"serve-{self.port}.log")
        self.log = open(self.log_path, "wb")
        full_env = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "formc", "serve", fsm, "--host", "127.0.0.1", "--port", str(self.port),
             *args], cwd=cwd or ROOT, stdout=self.log, stderr=subprocess.STDOUT, env=full_env)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                output = self.output()
                self.log.close()
                if ADDRESS_IN_USE in output:
                    return False
                raise RuntimeError(f"formc serve exited with {self.proc.returncode}:\n{output}")
            try:
                status, _, _ = http("GET", self.base + "/version", timeout=1)
                if status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"formc serve did not come up:\n{self.output()}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_for_output(self, text: str, count: int = 1, seconds: float = 30) -> None:
        deadline = time.time() + seconds
        while self.output().count(text) < count:
            if time.time() > deadline:
                raise RuntimeError(f"{text!r} x{count} not seen in the server output")
            time.sleep(0.1)

    def url(self, path: str) -> str:
        return self.base + path

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.log.close()

    def stop(self, timeout: float = 45) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


_BUILT: dict = {}


def build_restaurant_fsm(tmp_dir: str) -> str:
    """Compile the Rasa baseline restaurant bot (light config) into tmp_dir/restaurant.fsm
    (once per test session: later calls reuse the first file)."""
    if _BUILT.get("restaurant") and os.path.exists(_BUILT["restaurant"]):
        return _BUILT["restaurant"]
    from formc.artifact import dump_machine
    from formc.api import compile_project
    from support.shared_paths import RASA_RESTAURANT as src
    bot = os.path.join(tmp_dir, "restaurant")
    shutil.copytree(src, bot)
    for dirpath, dirnames, filenames in os.walk(bot):
        os.chmod(dirpath, 0o755)
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    os.replace(os.path.join(bot, "config_light.yml"), os.path.join(bot, "config.yml"))
    os.remove(os.path.join(bot, "config_default.yml"))
    machine, diagnostics = compile_project(bot)
    assert machine is not None, [d.render() for d in diagnostics]
    out = os.path.join(tmp_dir, "restaurant.fsm")
    dump_machine(machine, out, root=bot)
    _BUILT["restaurant"] = out
    return out


def say(server: "FormcServer", sender: str, text: str, **extra):
    status, _, body = http("POST", server.url("/webhooks/rest/webhook"),
                           {"sender": sender, "message": text, **extra})
    assert status == 200, body
    return body


def user_texts(tracker: dict) -> list:
    return [e.get("text") for e in tracker.get("events") or () if e.get("event") == "user"]
