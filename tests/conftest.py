"""Fixtures shared by several test modules."""

from __future__ import annotations

import pytest

from support.serve_helpers import NO_REDIS, REDIS_SERVER, RedisServer


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    """A real redis-server on a free loopback port, one per test module."""
    if not REDIS_SERVER:
        pytest.skip(NO_REDIS)
    server = RedisServer(str(tmp_path_factory.mktemp("redis")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory):
    """A real PostgreSQL (initdb into a temp dir, a free loopback port), one per test module."""
    from support.postgres_support import NO_POSTGRES, PG_BIN, PostgresServer
    if not PG_BIN:
        pytest.skip(NO_POSTGRES)
    server = PostgresServer(str(tmp_path_factory.mktemp("pg")))
    yield server
    server.stop()
