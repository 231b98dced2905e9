"""AirbaseClient's failures: 429 waits Retry-After, 5xx and timeouts back off with jitter a
bounded number of times, a create that may have been made is looked up before it is sent
again, DRF's 400 names the field, 401 is a credentials error, and the token is never in a
log, an error or a repr."""

from __future__ import annotations

import logging

import httpx
import pytest
from airbase_client_kit import (
    FakeAirbase,
    Sleeps,
    client_for,
    drf,
    server_error,
    throttled,
    vendor,
)
from pydantic import SecretStr

from airbase_client import (
    VENDORS,
    AirbaseClient,
    AirbaseCredentialsRefused,
    AirbaseError,
    AirbaseNotFound,
    AirbaseProfile,
    AirbaseRateLimited,
    AirbaseRequestError,
    AirbaseServerError,
    AirbaseUnavailable,
    AirbaseUnreadable,
    AirbaseValidationError,
)
from chassis.errors import PermanentError, RetryableError, SystemUnavailable

pytestmark = pytest.mark.anyio


async def test_a_429_waits_retry_after_then_goes_on() -> None:
    airbase = FakeAirbase()
    airbase.add("vendors", vendor("50001"))
    sleeps = Sleeps()
    airbase.fail_next(throttled(12), throttled(3))
    async with client_for(airbase, sleeps=sleeps) as client:
        found = await client.get(VENDORS, "9001")
    assert found.erp_reference_id == "50001"
    assert sleeps.waits == [12.0, 3.0]


async def test_a_429_longer_than_the_client_waits_is_handed_to_the_caller_at_once() -> None:
    airbase = FakeAirbase()
    sleeps = Sleeps()
    airbase.fail_next(throttled(3600))
    async with client_for(airbase, sleeps=sleeps) as client:
        with pytest.raises(AirbaseRateLimited) as limited:
            await client.get(VENDORS, "9001")
    assert isinstance(limited.value, SystemUnavailable)
    assert limited.value.retry_after == 3600.0
    assert "Expected available in 3600 seconds" in str(limited.value)
    assert sleeps.waits == []
    assert len(airbase.requests) == 1


async def test_a_429_that_lasts_ends_after_the_bounded_attempts() -> None:
    airbase = FakeAirbase()
    sleeps = Sleeps()
    airbase.fail_next(*[throttled(2) for _ in range(10)])
    async with client_for(airbase, sleeps=sleeps) as client:
        with pytest.raises(AirbaseRateLimited):
            await client.get(VENDORS, "9001")
    assert len(airbase.requests) == 5
    assert sleeps.waits == [2.0] * 4


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_5xx_on_a_read_backs_off_with_jitter_then_is_retryable(status: int) -> None:
    airbase = FakeAirbase()
    sleeps = Sleeps()
    airbase.fail_next(*[server_error(status) for _ in range(10)])
    async with client_for(airbase, sleeps=sleeps) as client:
        with pytest.raises(AirbaseServerError) as failed:
            await client.get(VENDORS, "9001")
    error = failed.value
    assert isinstance(error, RetryableError)
    assert not isinstance(error, SystemUnavailable)
    assert error.refused is False
    assert error.status == status
    assert len(airbase.requests) == 5
    ceilings = [0.5, 1.0, 2.0, 4.0]
    assert len(sleeps.waits) == 4
    assert all(0 <= wait <= cap for wait, cap in zip(sleeps.waits, ceilings, strict=True))
    assert len(set(sleeps.waits)) == 4  # jittered, not a fixed ladder


async def test_a_503_is_an_outage_and_a_5xx_that_clears_is_not_an_error() -> None:
    airbase = FakeAirbase()
    airbase.add("vendors", vendor("50001"))
    airbase.fail_next(*[server_error(503) for _ in range(5)])
    async with client_for(airbase) as client:
        with pytest.raises(AirbaseUnavailable) as down:
            await client.get(VENDORS, "9001")
        airbase.fail_next(server_error(502), server_error(500))
        found = await client.get(VENDORS, "9001")
    assert isinstance(down.value, SystemUnavailable)
    assert found.erp_reference_id == "50001"


async def test_timeouts_on_a_read_are_retried_then_retryable() -> None:
    airbase = FakeAirbase()
    airbase.add("vendors", vendor("50001"))
    sleeps = Sleeps()
    airbase.fail_next(httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow"))
    async with client_for(airbase, sleeps=sleeps) as client:
        found = await client.get(VENDORS, "9001")
        airbase.fail_next(*[httpx.ReadTimeout("slow") for _ in range(5)])
        with pytest.raises(AirbaseServerError, match="ReadTimeout"):
            await client.get(VENDORS, "9001")
        airbase.fail_next(*[httpx.ConnectError("refused") for _ in range(5)])
        with pytest.raises(AirbaseUnavailable, match="ConnectError"):
            await client.get(VENDORS, "9001")
    assert found.erp_reference_id == "50001"
    assert len(sleeps.waits) == 2 + 4 + 4


def created_then_failed(airbase: FakeAirbase, failure: httpx.Response | Exception):  # type: ignore[no-untyped-def]
    """A create Airbase makes and then fails to answer (the 5xx after the commit)."""

    def answer(request: httpx.Request) -> httpx.Response:
        airbase._collection(request, "vendors")
        if isinstance(failure, Exception):
            raise failure
        return failure

    return answer


@pytest.mark.parametrize(
    "failure", [server_error(500), server_error(502), httpx.ReadTimeout("slow")]
)
async def test_a_create_that_was_made_is_found_not_made_twice(
    failure: httpx.Response | Exception,
) -> None:
    airbase = FakeAirbase()
    airbase.fail_next(created_then_failed(airbase, failure))
    async with client_for(airbase) as client:
        made = await client.create(VENDORS, vendor("50001"))
    assert made.erp_reference_id == "50001"
    assert len(airbase.records["vendors"]) == 1
    assert len(airbase.calls("POST")) == 1


async def test_a_create_that_was_not_made_is_sent_again_after_the_look_up() -> None:
    airbase = FakeAirbase()
    airbase.fail_next(server_error(500), server_error(504), method="POST")
    async with client_for(airbase) as client:
        made = await client.create(VENDORS, vendor("50001"))
    assert made.erp_reference_id == "50001"
    assert len(airbase.records["vendors"]) == 1
    assert [r.method for r in airbase.requests] == ["POST", "GET", "POST", "GET", "POST"]


async def test_a_create_refused_before_it_was_sent_is_sent_again_without_a_look_up() -> None:
    airbase = FakeAirbase()
    airbase.fail_next(httpx.ConnectError("refused"))
    async with client_for(airbase) as client:
        made = await client.create(VENDORS, vendor("50001"))
    assert made.erp_reference_id == "50001"
    assert [r.method for r in airbase.requests] == ["POST", "POST"]


async def test_a_create_without_an_erp_reference_is_never_sent_twice() -> None:
    airbase = FakeAirbase()
    airbase.fail_next(server_error(500))
    async with client_for(airbase) as client:
        with pytest.raises(AirbaseServerError):
            await client.create(VENDORS, {"name": "No reference AB"})
    assert [r.method for r in airbase.requests] == ["POST"]


async def test_a_create_failing_every_time_stops_after_the_bounded_attempts() -> None:
    airbase = FakeAirbase()
    airbase.fail_next(*[server_error(500) for _ in range(20)], method="POST")
    sleeps = Sleeps()
    async with client_for(airbase, sleeps=sleeps) as client:
        with pytest.raises(AirbaseServerError):
            await client.create(VENDORS, vendor("50001"))
    ceilings = [0.5, 1.0, 2.0, 4.0]
    assert len(sleeps.waits) == 4
    assert all(0 <= wait <= cap for wait, cap in zip(sleeps.waits, ceilings, strict=True))
    assert airbase.records.get("vendors", []) == []
    assert len(airbase.calls("POST")) == 5


async def test_a_patch_sets_values_so_a_5xx_on_it_is_repeated() -> None:
    airbase = FakeAirbase()
    airbase.add("vendors", vendor("50001"))
    airbase.fail_next(server_error(502), httpx.ReadTimeout("slow"))
    async with client_for(airbase) as client:
        changed = await client.update(VENDORS, "9001", {"email": "new@example.se"})
    assert changed.email == "new@example.se"
    assert len(airbase.calls("PATCH")) == 3


async def test_drf_400_names_each_field_in_our_names() -> None:
    airbase = FakeAirbase(ref_field="external_id")
    profile = AirbaseProfile(fields={"erp_reference_id": "external_id"})
    body = {
        "vendor": {"external_id": ["Object with external_id=59999 does not exist."]},
        "expense_list": [{}, {"amount": ["A valid number is required."]}],
        "non_field_errors": ["Totals do not add up."],
    }
    airbase.fail_next(drf(400, body))
    async with client_for(airbase, profile) as client:
        with pytest.raises(AirbaseValidationError) as refused:
            await client.create("bills", {"erp_reference_id": "SE1/INV/1"})
        with pytest.raises(AirbaseValidationError) as missing:
            await client.create(VENDORS, {"erp_reference_id": "50001"})
    error = refused.value
    assert isinstance(error, PermanentError)
    assert error.field_errors == {
        "vendor.erp_reference_id": ["Object with external_id=59999 does not exist."],
        "expense_list[1].amount": ["A valid number is required."],
        "non_field_errors": ["Totals do not add up."],
    }
    assert "vendor.erp_reference_id: Object with" in str(error)
    assert missing.value.fields == ["name"]
    assert "name: This field is required." in str(missing.value)


@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
async def test_401_is_a_credentials_error_and_so_is_the_wrong_scheme(scheme: str) -> None:
    airbase = FakeAirbase(scheme="Token", token="the-right-token")
    token = "the-right-token" if scheme == "Bearer" else "a-revoked-token"
    client = AirbaseClient(
        "https://api.airbase.io",
        SecretStr(token),
        AirbaseProfile(auth_scheme=scheme),
        transport=airbase.transport(),
        sleep=Sleeps(),
    )
    async with client:
        with pytest.raises(AirbaseCredentialsRefused, match="Invalid token") as refused:
            await client.get(VENDORS, "1")
    assert isinstance(refused.value, PermanentError)
    assert refused.value.status == 401
    assert len(airbase.requests) == 1


async def test_a_replaced_token_is_used_from_then_on() -> None:
    airbase = FakeAirbase(token="new-token")
    airbase.add("vendors", vendor("50001"))
    client = AirbaseClient(
        "https://api.airbase.io", SecretStr("old-token"), transport=airbase.transport()
    )
    async with client:
        with pytest.raises(AirbaseCredentialsRefused):
            await client.get(VENDORS, "9001")
        client.use_token(SecretStr("new-token"))
        assert (await client.get(VENDORS, "9001")).erp_reference_id == "50001"


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (drf(404, {"detail": "Not found."}), AirbaseNotFound),
        (drf(405, {"detail": 'Method "POST" not allowed.'}), AirbaseRequestError),
        (httpx.Response(301, headers={"Location": "/v1/x/"}), AirbaseRequestError),
        (drf(403, {"detail": "You do not have permission."}), AirbaseCredentialsRefused),
        (httpx.Response(200, text="<html>login</html>"), AirbaseUnreadable),
        (httpx.Response(200, json={"name": "no id"}), AirbaseUnreadable),
        (httpx.Response(200, json=[1, 2]), AirbaseUnreadable),
    ],
)
async def test_each_other_answer_has_its_error(
    answer: httpx.Response, error: type[AirbaseError]
) -> None:
    airbase = FakeAirbase()
    airbase.fail_next(answer)
    async with client_for(airbase) as client:
        with pytest.raises(error):
            await client.get(VENDORS, "9001")


async def test_a_list_page_without_a_data_list_is_unreadable() -> None:
    airbase = FakeAirbase()
    airbase.fail_next(httpx.Response(200, json={"results": []}))
    async with client_for(airbase) as client:
        with pytest.raises(AirbaseUnreadable, match="no data list"):
            [v async for v in client.list(VENDORS)]


async def test_the_token_is_in_no_log_error_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    airbase = FakeAirbase()
    airbase.add("vendors", vendor("50001"))
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    async with client_for(airbase) as client:
        airbase.fail_next(throttled(1), server_error(500), httpx.ReadTimeout("slow"))
        await client.get(VENDORS, "9001")
        airbase.fail_next(*[server_error(500) for _ in range(5)])
        try:
            await client.get(VENDORS, "9001")
        except AirbaseError as error:
            seen.append(f"{error!s} {error!r} {error.detail} {error.__cause__!r}")
        airbase.fail_next(drf(401, {"detail": "Invalid token."}))
        try:
            await client.find_by_erp_reference(VENDORS, "50001")
        except AirbaseError as error:
            seen.append(f"{error!s} {error!r} {error.detail}")
        seen.append(repr(client))
    logged = [record.getMessage() + str(record.__dict__) for record in caplog.records]
    assert any("retrying request" in line for line in logged)  # the retries did log
    assert len(seen) == 3
    assert all(airbase.token not in line for line in logged + seen)
