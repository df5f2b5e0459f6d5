"""R5, stateful: schemathesis chains operations along the links it infers from our OpenAPI (create a team, then
read, patch and delete it; list actions, then assign, claim, visit, …), authenticated as the admin of a fresh
organization with data, and checks every response: no server error, on the schema.

A state machine calls the API synchronously, so it runs in a worker thread against a real server (uvicorn, its own
event loop and connection pool) on a free port; its writes commit, inside that organization only.
GG_FUZZ_STATEFUL_EXAMPLES sets how many sequences are tried (10 in `make test`, more in `make fuzz`).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from httpx import AsyncClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.config import Settings
from app.core.embedded import free_port
from tests.reliability._world import build_org_data
from tests.reliability.conftest import quick_org
from tests.reliability.test_fuzz import SKIPPED

EXAMPLES = int(os.environ.get("GG_FUZZ_STATEFUL_EXAMPLES", "10"))
STEPS = int(os.environ.get("GG_FUZZ_STATEFUL_STEPS", "8"))


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    from app.main import create_app

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "the fuzzing server did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


async def test_stateful_fuzz_no_server_errors_and_every_response_on_the_schema(
    app: Any, live_db: Any, server: str
) -> None:
    people = await quick_org(live_db, "Stf")
    await live_db.commit()
    async with AsyncClient(base_url=server, timeout=30) as client:
        await build_org_data(client, people, "Stf")
    auth = people["admin"].headers
    schema = schemathesis.openapi.from_dict(app.openapi()).exclude(operation_id=list(SKIPPED))
    failures: list[str] = []
    steps = 0

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": server, "headers": auth, "timeout": 30}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            nonlocal steps
            steps += 1
            try:
                case.validate_response(
                    response, checks=[not_a_server_error, response_schema_conformance], transport_kwargs=kwargs
                )
            except (AssertionError, BaseExceptionGroup) as exc:  # collected, so one run reports them all
                first = str(exc).strip().splitlines()
                failures.append(
                    f"{case.operation.label} -> {response.status_code}: {' | '.join(first[:6])}\n"
                    f"    body: {response.text[:300]}"
                )

    def run() -> None:
        run_state_machine_as_test(
            Workflow,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            ),
        )

    await asyncio.to_thread(run)
    assert steps > EXAMPLES, steps
    assert not failures, f"{len(failures)} failing steps:\n" + "\n".join(failures)
