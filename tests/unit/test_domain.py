"""The domain's records: which campaigns the dialer may dial."""

from __future__ import annotations

from dataclasses import asdict

from dialerd.domain import DialableCampaign
from tests.unit.fakes import campaign


def test_only_an_active_campaign_with_a_queue_and_a_dial_string_may_dial() -> None:
    ready = DialableCampaign.of(campaign(7))
    assert ready is not None
    assert asdict(ready) == asdict(campaign(7))  # every setting carried over
    for unset in ({"queue": None}, {"dial_string": None}, {"active": False}):
        assert DialableCampaign.of(campaign(7, **unset)) is None
