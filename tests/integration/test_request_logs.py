"""Every log line an API request writes carries that request's ``request_id``."""

from __future__ import annotations

import structlog
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from tests.conftest import Api


async def test_each_request_logs_with_its_own_request_id(api: Api) -> None:
    with capture_logs(processors=[merge_contextvars]) as logs:
        campaign = {"Name": "Logged", "DefaultRegion": "NO"}
        assert (await api.request("POST", "/dialler/campaigns", json=campaign))[0] == 200
        contact = {"DiallerCampaignsName": "Logged", "Name": "Kari", "PhoneNumber1": "91234567"}
        assert (await api.request("POST", "/dialler/contacts/import", json=contact))[0] == 200
        structlog.get_logger().info("outside_a_request")
    by_event = {entry["event"]: entry for entry in logs}
    created, imported = by_event["campaign_created"], by_event["contact_imported"]
    assert len(created["request_id"]) == 32
    assert len(imported["request_id"]) == 32
    assert created["request_id"] != imported["request_id"]
    assert "request_id" not in by_event["outside_a_request"]
