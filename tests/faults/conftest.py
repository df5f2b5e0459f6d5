from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from app.core.embedded import EmbeddedPostgres, free_port
from app.core.migrate import migrate_and_grant
from tests.conftest import ServicesUnderTest


@pytest.fixture
def own_cluster(services: ServicesUnderTest) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of the test's own, to kill: migrated, with the app role."""
    pg = EmbeddedPostgres(services.tmp / f"pg-fault-{uuid.uuid4().hex[:6]}", free_port(), shared_buffers_mb=128)
    pg.start()
    migrate_and_grant(pg.superuser_url, "groundgame_app", "groundgame_app")
    yield pg
    pg.stop("immediate")
