"""`formc serve --workers N`: a supervisor process and N single-process servers, each listening
on its own SO_REUSEPORT socket bound to the same address.

Why not Sanic's worker manager: it binds one socket in the main process and the workers share
it, so whichever worker wakes first accepts a whole burst of connections. Measured here: 64
connections opened together went almost all to one worker (one core at 100 %, the other at
8 %). With one socket per worker the kernel spreads connections over the workers by their
address hash (measured: 1,683 and 1,562 CPU ticks).

The supervisor forks the workers after the machine is loaded and the heap frozen (their pages
start shared), passes SIGTERM / SIGINT on (each worker finishes its turns in flight), and
restarts a worker that died on its own. Workers ask the kernel for SIGTERM should the
supervisor die, so a killed supervisor leaves no orphan serving the port. Linux only
(SO_REUSEPORT load balancing, PR_SET_PDEATHSIG), like the rest of the server's deployment.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import time
from typing import Any, Callable

_PR_SET_PDEATHSIG = 1
_RESTART_PAUSE = 1.0   # seconds between restarts of a worker that keeps dying


def bind_listener(host: str, port: int, reuse_port: bool = True,
                  backlog: int = 1024) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def run_workers(serve: Callable[[socket.socket], Any], host: str, port: int, workers: int) -> int:
    """Run `serve(sock)` in `workers` forked processes until SIGTERM / SIGINT; returns the exit
    code. `serve` must block until its server has stopped. The caller has checked, by binding
    it once, that the address is free."""
    stopping = False
    children: dict[int, int] = {}    # pid -> worker number

    def start(number: int) -> None:
        pid = os.fork()
        if pid == 0:   # the worker
            code = 1
            try:
                _die_with_parent()
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                serve(bind_listener(host, port))
                code = 0
            except BaseException as e:   # noqa: BLE001 - reported, then the worker exits
                print(f"formc serve: worker {number} failed: {e}", file=sys.stderr, flush=True)
            finally:
                sys.stderr.flush()
                os._exit(code)
        children[pid] = number

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for number in range(workers):
        start(number)
    code = 0
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        number = children.pop(pid, None)
        if number is None:
            continue
        exit_code = os.waitstatus_to_exitcode(status)
        if not stopping:
            print(f"formc serve: worker {number} (pid {pid}) exited with {exit_code}; "
                  "restarting it", file=sys.stderr, flush=True)
            time.sleep(_RESTART_PAUSE)
            if not stopping:
                start(number)
        elif exit_code not in (0, -signal.SIGTERM, -signal.SIGINT):
            code = 1
    return code


def _die_with_parent() -> None:
    """Ask the kernel to send this process SIGTERM when the supervisor dies (even by SIGKILL)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() == 1:   # the supervisor died before the request took effect
        os._exit(0)
