"""The server's VAPID key pair (RFC 8292): generated on first use and kept in the database (table vapid_keys,
one row), so every API and worker process, and every restart, signs with the same key; browsers subscribed
with its public key keep working."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import VapidKey


@dataclass(frozen=True)
class Keys:
    private_pem: str
    public_key: str  # base64url, no padding: the browser's applicationServerKey


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def generate() -> Keys:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return Keys(pem, b64url(point))


async def get(session: AsyncSession) -> Keys:
    """The kept pair; the first caller generates it (two at once: one insert wins, both read it)."""
    row = await session.scalar(select(VapidKey).where(VapidKey.id == 1))
    if row is None:
        k = generate()
        await session.execute(
            pg_insert(VapidKey)
            .values(id=1, private_pem=k.private_pem, public_key=k.public_key)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        row = await session.scalar(select(VapidKey).where(VapidKey.id == 1).execution_options(populate_existing=True))
        assert row is not None
    return Keys(row.private_pem, row.public_key)
