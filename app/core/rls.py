"""Row-level security DDL used by migrations: the second wall behind the app's own tenant scoping.

Policies apply to the application role, which owns no table (table owners bypass RLS by design; the
owner runs migrations and a few narrow SECURITY DEFINER functions such as gg_user_memberships).
"""

from __future__ import annotations

TENANT_SETTING = "NULLIF(current_setting('app.organization_id', true), '')::uuid"


def enable_rls_sql(table: str, column: str = "organization_id") -> list[str]:
    cond = f"{column} = {TENANT_SETTING}"
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {table} USING ({cond}) WITH CHECK ({cond})",
    ]


def disable_rls_sql(table: str) -> list[str]:
    return [
        f"DROP POLICY IF EXISTS tenant_isolation ON {table}",
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
    ]
