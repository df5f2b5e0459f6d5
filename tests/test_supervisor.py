"""The supervisor's backoff: the first restart after a delay, doubled after each quick failure up to the cap,
back to the first delay once the part had run a while."""

from __future__ import annotations

from app.supervisor import STABLE_S, Backoff


def test_restart_delay_doubles_on_quick_failures_up_to_the_cap_and_resets_after_a_stable_run() -> None:
    b = Backoff(first_s=1.0, max_s=5.0)
    assert [b.failed(0.1) for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert b.failed(STABLE_S + 1) == 1.0
