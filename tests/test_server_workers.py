"""`formc serve --workers 2`: connections spread over both workers, a dead worker is replaced,
killing the supervisor takes its workers down with it (no orphan on the port), and an
address in use is a one-line error."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time

import pytest

from support.serve_helpers import PYTHON, ROOT, FormcServer, build_restaurant_fsm, http, say, user_texts


@pytest.fixture(scope="module")
def fsm(tmp_path_factory):
    return build_restaurant_fsm(str(tmp_path_factory.mktemp("bot")))


def workers_of(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def established_to(port: int) -> set[str]:
    """Inodes of the server side of established loopback connections on `port`."""
    found = set()
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            local_port = int(parts[1].split(":")[1], 16)
            if local_port == port and parts[3] == "01":   # 01 = ESTABLISHED
                found.add(parts[9])
    return found


def wait_until(check, seconds: float = 20.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_connections_spread_over_both_workers(fsm, tmp_path):
    server = FormcServer(fsm, "--store", f"sqlite:///{tmp_path}/w.db", "--workers", "2",
                         cwd=str(tmp_path))
    clients = []
    try:
        server.wait_for_output("Worker ready", 2)
        for _ in range(32):   # held open, as keep-alive clients do
            c = socket.create_connection(("127.0.0.1", server.port))
            c.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
            assert c.recv(4096).startswith(b"HTTP/1.1 200")
            clients.append(c)
        workers = workers_of(server.proc.pid)
        assert len(workers) == 2
        served = established_to(server.port)
        per_worker = [len(socket_inodes(w) & served) for w in workers]
        assert sum(per_worker) == 32
        # The kernel spreads connections by address hash: 32 never land 28/4 or worse by chance
        # (probability ~1e-5), while a shared accept queue can hand a burst to one worker.
        assert min(per_worker) >= 5, per_worker
    finally:
        for c in clients:
            c.close()
        assert server.stop() == 0


def test_a_killed_worker_is_replaced_and_conversations_go_on(fsm, tmp_path):
    server = FormcServer(fsm, "--store", f"sqlite:///{tmp_path}/w.db", "--workers", "2",
                         cwd=str(tmp_path))
    try:
        server.wait_for_output("Worker ready", 2)
        say(server, "k", "hi")
        victim = workers_of(server.proc.pid)[0]
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: len(workers_of(server.proc.pid)) == 2
                   and victim not in workers_of(server.proc.pid))
        server.wait_for_output("Worker ready", 3)
        for text in ["i am looking for a restaurant", "italian"]:
            say(server, "k", text)
        status, _, body = http("GET", server.url("/conversations/k/tracker?include_events=ALL"))
        assert status == 200 and user_texts(body) == ["hi", "i am looking for a restaurant",
                                                      "italian"]
        assert "restarting it" in server.output()
    finally:
        assert server.stop() == 0


def _is_zombie(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split()[2] == "Z"


def test_killing_the_supervisor_stops_its_workers(fsm, tmp_path):
    server = FormcServer(fsm, "--store", f"sqlite:///{tmp_path}/w.db", "--workers", "2",
                         cwd=str(tmp_path))
    server.wait_for_output("Worker ready", 2)
    workers = workers_of(server.proc.pid)
    server.kill()
    for pid in workers:
        wait_until(lambda pid=pid: not os.path.exists(f"/proc/{pid}")
                   or _is_zombie(pid))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_address_in_use_is_a_one_line_error(fsm, tmp_path, workers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [PYTHON, "-m", "formc", "serve", fsm, "--host", "127.0.0.1", "--port", str(port),
             "--store", f"sqlite:///{tmp_path}/t.db", "--workers", workers],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == (f"formc serve: cannot listen on 127.0.0.1:{port}: "
                                   "[Errno 98] Address already in use")
