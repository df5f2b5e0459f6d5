from __future__ import annotations

import os
import subprocess
import sys
import uuid

from tests.conftest import ServicesUnderTest


def _gg(*args: str, stdin: str | None = None) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=60,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_create_org_and_user_from_the_command_line(services: ServicesUnderTest) -> None:
    slug = f"cli-{uuid.uuid4().hex[:6]}"
    org_id = _gg("create-org", "--name", "CLI Org", "--slug", slug).splitlines()[-1]
    uuid.UUID(org_id)
    user_id = _gg(
        "create-user",
        "--org",
        slug,
        "--email",
        f"{slug}@example.org",
        "--role",
        "manager",
        "--password-stdin",
        stdin="a-long-password\n",
    ).splitlines()[-1]
    uuid.UUID(user_id)
    check = subprocess.run(
        [
            "psql",
            services.migration_url.replace("+asyncpg", ""),
            "-tAc",
            f"SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = '{slug}@example.org'",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "manager"
