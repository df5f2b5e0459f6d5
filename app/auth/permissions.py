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


ROLE_PERMISSIONS: dict[Role, frozenset[Perm]] = {
    Role.admin: frozenset(Perm),
    Role.manager: frozenset(Perm) - {Perm.manage_org, Perm.view_audit},
    Role.team_leader: frozenset({Perm.view_members, Perm.lead_actions, Perm.field_work, Perm.view_contacts}),
    Role.volunteer: frozenset({Perm.field_work}),
}


def role_can(role: str, perm: Perm) -> bool:
    return perm in ROLE_PERMISSIONS.get(Role(role), frozenset())


def is_staff(role: str) -> bool:
    """Staff run the organization's people (admins and managers): two-factor applies to them when the
    organization requires it, and only an admin may make someone staff."""
    return role_can(role, Perm.manage_members)


def can_grant(actor_role: str, role: str) -> bool:
    """Who may give a role (invitations): staff roles only by those who manage the organization."""
    return not is_staff(role) or role_can(actor_role, Perm.manage_org)
