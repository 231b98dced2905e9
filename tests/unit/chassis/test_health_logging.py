"""A health request that fails is a JSON log line of the service, not a traceback on stderr."""

from __future__ import annotations

import logging

import httpx
import pytest

from chassis.health import HealthServer

pytestmark = pytest.mark.unit


def _broken_check() -> bool:
    raise RuntimeError("readiness check broke")


def test_a_failing_readiness_check_is_logged_not_printed(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    server = HealthServer(port=0, ready=_broken_check).start()
    try:
        # The connection is closed only after handle_error ran: the record is there.
        with (
            caplog.at_level(logging.ERROR, logger="chassis.health"),
            pytest.raises(httpx.TransportError),
        ):
            httpx.get(f"http://127.0.0.1:{server.port}/readyz", timeout=5)
    finally:
        server.stop()
    assert "Traceback" not in capfd.readouterr().err
    [record] = [r for r in caplog.records if r.name == "chassis.health"]
    assert record.getMessage() == "health request failed"
    assert record.exc_info is not None
    assert "readiness check broke" in str(record.exc_info[1])
