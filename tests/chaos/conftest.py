"""Fixtures of the fault tests: gateway processes stopped at the end, a PostgreSQL cluster of
the test's own, and a small filesystem to fill."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.filesystems import small_filesystem
from tests.support.gateway_process import GatewayProcess
from tests.support.postgres_cluster import PostgresCluster, postgres_bindir


@pytest.fixture
def gateway_factory() -> Iterator[list[GatewayProcess]]:
    made: list[GatewayProcess] = []
    yield made
    for gateway in made:
        gateway.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A cluster the test may stop and start; never the shared server on 5432."""
    cluster = PostgresCluster(postgres_bindir())
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def small_fs() -> Iterator[Path]:
    """A 32 MB tmpfs: room for the migrated database and its WAL, filled up by the test.
    Request it before `gateway_factory`, so that the gateway is stopped before unmounting."""
    with small_filesystem(32) as where:
        yield where
