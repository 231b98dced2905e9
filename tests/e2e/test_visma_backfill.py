"""`mlc visma backfill` as an operator runs it: against the sandbox, with no live poller.

The backfill must publish every version of one entity of one company exactly once, keep its
progress under its own cursor key (never the live poller's), and publish nothing on a rerun.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from chassis.kafka.state import iter_to_end
from chassis.settings import KafkaSettings
from events.topics import STATE_POLL_CURSORS, visma_topic
from tests.e2e.source_stack import SourceStack, company
from visma_client.entities import VISMA_ENTITIES
from visma_poller.cursor_store import cursor_key
from visma_poller.mapping import entity_event

pytestmark = pytest.mark.e2e

TENANT = "tenant-se-1"
ENTITY = "supplierInvoice"


@pytest.fixture
def stack(kafka_bootstrap: str, tmp_path: Path) -> Iterator[SourceStack]:
    s = SourceStack(kafka=kafka_bootstrap, state_dir=tmp_path / "source")
    s.start_sandbox("--invoices", "7", "--records", "1")
    s.store_client_secret()
    yield s
    s.stop()


def _write_config(stack: SourceStack) -> Path:
    """The YAML as `SourceStack.start_poller` writes it; small pages, so there are several."""
    config = {
        "token_url": f"{stack.base_url}/visma/connect/token",
        "api_base": f"{stack.base_url}/visma",
        "request_timeout_seconds": 5,
        "companies": [company(t, page_size=3) for t in ("tenant-se-1", "tenant-no-1")],
    }
    path = stack.state_dir / "visma.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _backfill(
    stack: SourceStack, config: Path, company_id: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlc.cli", "visma", "backfill", "--config", str(config),
         "--company", company_id, "--entity", ENTITY, "--since", "2000-01-01",
         "--topic-prefix", stack.prefix],
        env=os.environ | stack.env(), capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def _invoice_versions(stack: SourceStack) -> set[str]:
    """Event ids of every supplier invoice of TENANT now in the sandbox."""
    spec = VISMA_ENTITIES[ENTITY]
    found = set()
    for raw in stack.sandbox("GET", f"/_sandbox/entities/{ENTITY}"):
        if raw["company"] != TENANT:
            continue
        event = entity_event(ENTITY, spec.model.model_validate(raw), tenant_id=TENANT,
                             company_id=TENANT, observed_at=datetime.now(UTC))  # fmt: skip
        found.add(event.event_id)
    return found


def _cursor_keys(stack: SourceStack) -> list[str]:
    settings = KafkaSettings(bootstrap_servers=stack.kafka)
    topic = stack.prefix + STATE_POLL_CURSORS.name
    return [key or "" for key, _ in iter_to_end(settings, topic, client=f"t-{stack.run_id}-c")]


def test_backfill_publishes_one_company_once_under_its_own_cursor(stack: SourceStack) -> None:
    config = _write_config(stack)
    expected = _invoice_versions(stack)
    assert len(expected) == 7, "the sandbox was asked for seven invoices per company"

    first = _backfill(stack, config, TENANT)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "page 1: " in first.stdout
    assert "page 3: " in first.stdout, "seven invoices in pages of three are three pages"
    topic = stack.prefix + visma_topic(ENTITY).name
    assert f"backfill of {ENTITY} in {TENANT} since 2000-01-01: 7 events from 3 pages into " \
           f"{topic}" in first.stdout  # fmt: skip

    published = stack.published([ENTITY])
    assert set(published) == expected, "only this company's invoices, every one of them"
    assert all(n == 1 for n in published.values()), published

    keys = set(_cursor_keys(stack))
    live = cursor_key(TENANT, TENANT, ENTITY)
    assert keys == {f"{live}#backfill-20000101"}, keys

    second = _backfill(stack, config, TENANT)
    assert second.returncode == 0, second.stderr[-2000:]
    assert ": 0 events from" in second.stdout
    assert stack.published([ENTITY]) == published, "a rerun publishes nothing new"
    assert set(_cursor_keys(stack)) == keys


def test_backfill_of_an_unknown_company_says_so(stack: SourceStack) -> None:
    config = _write_config(stack)
    result = _backfill(stack, config, "no-such-company")
    assert result.returncode == 2
    assert "no company no-such-company" in result.stderr
    assert str(config) in result.stderr
    assert "Traceback" not in result.stderr
