"""Every log line an API request writes carries that request's ``request_id``, and every line of
an async import job its ``import_id``."""

from __future__ import annotations

import pytest
import structlog
from structlog.contextvars import merge_contextvars
from structlog.testing import capture_logs

from tests.conftest import Api
from tests.integration.test_calltask_async import ASYNC, wait_until_finished
from tests.integration.test_calltask_import import SPEC_EXAMPLE, setup  # noqa: F401


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


@pytest.mark.usefixtures("setup")
async def test_an_async_imports_lines_carry_its_import_id(api: Api) -> None:
    with capture_logs(processors=[merge_contextvars]) as logs:
        status, queued = await api.request("POST", ASYNC, json=SPEC_EXAMPLE)
        assert status == 200
        assert (await wait_until_finished(api, queued["statusUrl"]))[0] == 200
    by_event = {entry["event"]: entry for entry in logs}
    assert len(by_event["calltask_import_queued"]["request_id"]) == 32
    for event in (
        "calltask_import_queued",
        "calltask_import_job_started",
        "calltask_import_written",
        "calltask_import_job_finished",
    ):
        assert by_event[event]["import_id"] == queued["importId"], event
    assert "request_id" not in by_event["calltask_import_written"]  # the worker's, not the POST's
