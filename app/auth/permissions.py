"""Roles and what each may do: the one table of permissions, in code."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    manager = "manager"
    team_leader = "team_leader"
    volunteer = "volunteer"


class Perm(StrEnum):
    manage_org = "manage_org"  # organization settings, roles, audit log
    manage_members = "manage_members"  # invitations, teams, user roles
    view_members = "view_members"  # the members and every team of the organization
    manage_contacts = "manage_contacts"  # create/edit/import contacts, segments
    view_contacts = "view_contacts"  # the contact base (not only assigned ones)
    view_all_contacts = "view_all_contacts"  # the whole base, not only the region of one's teams
    export_contacts = "export_contacts"
    manage_zones = "manage_zones"
    manage_actions = "manage_actions"  # any action, drafts included; every walk list
    lead_actions = "lead_actions"  # actions of one's teams (drafts too), their walk lists, doors and participation
    manage_opportunities = "manage_opportunities"  # every opportunity, not only one's own and one's teams'
    field_work = "field_work"  # calls, visits, notes on assigned contacts
    view_audit = "view_audit"
    send_messages = "send_messages"  # message templates, email and SMS campaigns
    manage_petitions = "manage_petitions"  # petitions, their public pages and signatures


ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.admin: frozenset(Perm),
    Role.manager: frozenset(Perm) - {Perm.manage_org, Perm.view_audit},
    Role.team_leader: frozenset({Perm.view_members, Perm.lead_actions, Perm.field_work, Perm.view_contacts}),
    Role.volunteer: frozenset({Perm.field_work}),
}


class Scope(StrEnum):
    """What an API key may do: each scope opens some routes (method and path) and grants the permissions they
    need; a key needs both. No scope opens members, organization settings, the audit log, keys or webhooks."""

    contacts_read = "contacts:read"
    contacts_write = "contacts:write"
    contacts_export = "contacts:export"
    actions_read = "actions:read"
    reports_read = "reports:read"
    opportunities_read = "opportunities:read"
    zones_read = "zones:read"


_READ = frozenset({"GET", "HEAD"})
_ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})

# scope → (permissions, ((methods, path prefix), ...)): the one place a key's rights are decided.
SCOPE_GRANTS: dict[Scope, tuple[frozenset[Perm], tuple[tuple[frozenset[str], str], ...]]] = {
    Scope.contacts_read: (
        frozenset({Perm.view_contacts, Perm.view_all_contacts}),
        ((_READ, "/contacts"), (frozenset({"POST"}), "/contacts/search"), (frozenset({"POST"}), "/contacts/count")),
    ),
    Scope.contacts_write: (
        frozenset({Perm.view_contacts, Perm.view_all_contacts, Perm.manage_contacts, Perm.field_work}),
        ((_ANY, "/contacts"),),
    ),
    Scope.contacts_export: (
        frozenset({Perm.view_contacts, Perm.view_all_contacts, Perm.export_contacts}),
        ((_ANY, "/exports"),),
    ),
    Scope.actions_read: (frozenset({Perm.manage_actions}), ((_READ, "/actions"),)),
    Scope.reports_read: (frozenset({Perm.lead_actions, Perm.manage_actions}), ((_READ, "/dashboard"),)),
    Scope.opportunities_read: (
        frozenset({Perm.manage_opportunities}),
        ((_READ, "/opportunities"), (_READ, "/opportunity-types")),
    ),
    Scope.zones_read: (frozenset({Perm.manage_zones}), ((_READ, "/zones"),)),
}


_SCOPE_NAMES = frozenset(s.value for s in Scope)


def scope_permissions(scopes: frozenset[str]) -> frozenset[Perm]:
    """A scope no longer known grants nothing."""
    return frozenset().union(*(SCOPE_GRANTS[Scope(s)][0] for s in scopes if s in _SCOPE_NAMES))


def scopes_allow_route(scopes: frozenset[str], method: str, path: str) -> bool:
    """`path` is relative to API_PREFIX; a prefix matches itself and what is under it."""
    for s in scopes:
        if s not in _SCOPE_NAMES:
            continue
        for methods, prefix in SCOPE_GRANTS[Scope(s)][1]:
            if method in methods and (path == prefix or path.startswith(prefix + "/")):
                return True
    return False


def role_can(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(Role(role), frozenset())


def is_staff(role: str) -> bool:
    """Staff run the organization's people (admins and managers): two-factor applies to them when the
    organization requires it, and only an admin may make someone staff."""
    return role_can(role, Perm.manage_members)


def can_grant(actor_role: str, role: str) -> bool:
    """Who may give a role (invitations): staff roles only by those who manage the organization."""
    return not is_staff(role) or role_can(actor_role, Perm.manage_org)
