"""The states of a calling target and the kinds and outcomes of a field report: one list each, used by the
schemas, the Python flows, the SQL statements and the tables' check constraints."""

from __future__ import annotations

from enum import StrEnum


class TargetStatus(StrEnum):
    pending = "pending"
    in_progress = "in_progress"  # never stored: a pending or callback target with a live lease
    callback = "callback"
    done = "done"
    closed = "closed"  # never comes back (wrong number, do not call, moved)


# A target someone may still call or visit.
OPEN_TARGET = (TargetStatus.pending, TargetStatus.callback)
# Finished targets, listed last.
FINISHED_TARGET = (TargetStatus.done, TargetStatus.closed)


class ReportKind(StrEnum):
    call = "call"
    visit = "visit"


class CallOutcome(StrEnum):
    refused = "refused"
    absent = "absent"
    answered = "answered"
    callback = "callback"
    wrong_number = "wrong_number"
    do_not_call = "do_not_call"
    other = "other"


class VisitOutcome(StrEnum):
    not_home = "not_home"
    opened = "opened"
    refused = "refused"
    moved = "moved"
    inaccessible = "inaccessible"
    other = "other"


# The person was reached: survey answers and contact updates may follow, the reached tag and counter apply.
REACHED = frozenset({CallOutcome.answered.value, VisitOutcome.opened.value})
# The number is not to be called again, in any action.
NEVER_AGAIN = (CallOutcome.wrong_number, CallOutcome.do_not_call)
