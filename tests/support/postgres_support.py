"""A throw-away PostgreSQL server for tests: initdb into a temp dir, postgres on a free loopback
port (Debian's binaries under /usr/lib/postgresql/*/bin; as root they run as user postgres)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from support.serve_helpers import free_port

_BINS = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
PG_BIN = os.path.dirname(_BINS[-1]) if _BINS else (
    os.path.dirname(shutil.which("initdb")) if shutil.which("initdb") else None)
NO_POSTGRES = "PostgreSQL is not installed (apt-get install -y postgresql)"


def _demote():
    """As root, run the server as `postgres` (initdb and postgres refuse to run as root)."""
    if os.geteuid() != 0:
        return None, None
    user = pwd.getpwnam("postgres")
    return user.pw_uid, user.pw_gid


class PostgresServer:
    def __init__(self, workdir: str | None = None) -> None:
        # pytest's own temp dirs are private to root: the data lives in a dir of its own that
        # the `postgres` user can reach (removed by stop()).
        self.root = tempfile.mkdtemp(prefix="formc-pg-")
        self.dir = os.path.join(self.root, "pgdata")
        uid, gid = _demote()
        self.uid, self.gid = uid, gid
        os.makedirs(self.dir, mode=0o700)
        if uid is not None:
            os.chmod(self.root, 0o755)
            os.chown(self.dir, uid, gid)
        self._run([os.path.join(PG_BIN, "initdb"), "-D", self.dir, "-U", "formc", "--auth=trust",
                   "-E", "UTF8", "--no-sync"], timeout=120)
        self.start()

    def _run(self, cmd: list, timeout: float) -> None:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              user=self.uid, group=self.gid)
        if proc.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {proc.stdout}{proc.stderr}")

    def start(self, port: int | None = None) -> None:
        self.port = port or getattr(self, "port", None) or free_port()
        self.proc = subprocess.Popen(
            [os.path.join(PG_BIN, "postgres"), "-D", self.dir, "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             "-c", "fsync=on", "-c", "max_connections=200", "-c", "shared_buffers=32MB"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, user=self.uid, group=self.gid)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                if self._ready():
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("postgres did not come up")

    def _ready(self) -> bool:
        proc = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-h", "127.0.0.1", "-p",
                               str(self.port)], capture_output=True)
        return proc.returncode == 0

    @property
    def url(self) -> str:
        return f"postgresql://formc@127.0.0.1:{self.port}/postgres"

    def stop(self, fast: bool = True, remove: bool = True) -> None:
        """Stop (SIGINT: fast shutdown, clients are disconnected); remove the data unless
        `remove` is False (a restart follows)."""
        self.pause(fast)
        if remove:
            shutil.rmtree(self.root, ignore_errors=True)

    def pause(self, fast: bool = True) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT if fast else signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
