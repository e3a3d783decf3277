"""Which campaigns an engine paces (dialerd/dialer/lease.py): its lease counted from when it
asked, nothing paced once that is over without a renewal."""

from __future__ import annotations

from dialerd.dialer.lease import PacingLease


def test_nothing_is_paced_before_the_first_renewal() -> None:
    assert not PacingLease().paces(1, 0.0)


def test_a_held_campaign_is_paced_until_its_lease_from_the_ask_is_over() -> None:
    lease = PacingLease().renewed({1, 2}, asked_at=100.0, lease_s=10.0)
    assert lease.paces(1, 100.0) and lease.paces(2, 109.9)
    assert not lease.paces(3, 100.0)  # another engine's: stood by for
    assert not lease.paces(1, 110.0)  # not renewed in time: the database may give it away


def test_changes_say_what_was_taken_and_what_was_lost() -> None:
    before = PacingLease().renewed({1, 2}, asked_at=0.0, lease_s=10.0)
    after = before.renewed({2, 3}, asked_at=2.0, lease_s=10.0)
    assert before.changes(after, 2.0) == ([3], [1])
    assert after.changes(after, 3.0) == ([], [])


def test_a_lease_that_ran_out_is_taken_again_not_kept() -> None:
    before = PacingLease().renewed({1}, asked_at=0.0, lease_s=10.0)
    again = before.renewed({1}, asked_at=30.0, lease_s=10.0)
    assert before.changes(again, 30.0) == ([1], [])
