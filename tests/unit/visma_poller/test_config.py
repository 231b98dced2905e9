"""The poller's YAML: durations people write, one secret source, schedules and clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from visma_client.entities import VISMA_ENTITIES
from visma_poller.config import (
    DEFAULT_SCHEDULE,
    CompanyConfig,
    ConfigError,
    EntitySchedule,
    load_config,
)

pytestmark = pytest.mark.unit

KNOWN = set(VISMA_ENTITIES)


def company(**overrides: Any) -> dict[str, Any]:
    return {"tenant_id": "tenant-se-1", "company_id": "company-1", "client_id": "mlc",
            "credential": "visma/mlc", **overrides}  # fmt: skip


def write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "visma.yaml"
    path.write_text(document if isinstance(document, str) else yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("1.5h", 5400),
        ("2d", 172_800),
        (" 90 s ", 90),
        ("45", 45),
        (45, 45),
        (0.5, 0.5),
        ("2.5m", 150),
    ],
)
def test_durations_read_like_people_write_them(written: object, seconds: float) -> None:
    assert EntitySchedule.model_validate({"every": written}).every == seconds
    parsed = CompanyConfig.model_validate(company(poll_interval_seconds=written))
    assert parsed.poll_interval_seconds == seconds


@pytest.mark.parametrize("written", ["5 minutes", "1w", "m5", "-5m", "1h30m", "", "fast"])
def test_a_bad_duration_is_refused_naming_the_field_and_file(tmp_path: Path, written: str) -> None:
    path = write(tmp_path, {"companies": [company(entities={"account": {"every": written}})]})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    assert "companies.0.entities.account.every" in message
    assert "duration" in message


@pytest.mark.parametrize("written", ["0s", 0, -1])
def test_a_duration_must_be_positive(tmp_path: Path, written: object) -> None:
    path = write(tmp_path, {"companies": [company(poll_interval_seconds=written)]})
    with pytest.raises(ConfigError, match=r"companies\.0\.poll_interval_seconds"):
        load_config(path)


@pytest.mark.parametrize(
    "secrets",
    [{}, {"credential": "visma/mlc", "client_secret_env": "VISMA_SECRET"}],
    ids=["neither", "both"],
)
def test_exactly_one_secret_source(tmp_path: Path, secrets: dict[str, str]) -> None:
    entry = {k: v for k, v in company().items() if k != "credential"} | secrets
    with pytest.raises(ConfigError, match="exactly one of credential"):
        load_config(write(tmp_path, {"companies": [entry]}))


def test_either_secret_source_alone_is_accepted() -> None:
    assert CompanyConfig.model_validate(company()).credential == "visma/mlc"
    dev = {k: v for k, v in company().items() if k != "credential"}
    parsed = CompanyConfig.model_validate(dev | {"client_secret_env": "VISMA_SECRET"})
    assert parsed.credential is None
    assert parsed.client_secret_env == "VISMA_SECRET"


def test_an_unknown_entity_is_named() -> None:
    config = CompanyConfig.model_validate(
        company(entities={"supplierInvoices": {"every": "5m"}, "account": {"every": "1h"}})
    )
    with pytest.raises(ConfigError) as caught:
        config.schedule(KNOWN)
    assert "supplierInvoices" in str(caught.value)
    assert "company-1" in str(caught.value)
    assert "'account'" not in str(caught.value)


def test_the_schedule_is_the_defaults_with_this_companys_overrides() -> None:
    config = CompanyConfig.model_validate(company(entities={
        "supplierInvoice": {"every": "1m", "priority": 1},
        "account": {"every": "6h"},
        "dimension": {"every": "1h", "enabled": False},
    }))  # fmt: skip
    schedule = config.schedule(KNOWN)
    assert schedule["supplierInvoice"] == EntitySchedule(every=60, priority=1)
    assert schedule["account"].every == 6 * 3600
    assert "dimension" not in schedule
    untouched = set(DEFAULT_SCHEDULE) & KNOWN - {"supplierInvoice", "account", "dimension"}
    assert untouched, "the test needs some defaults left alone"
    for entity in untouched:
        every, priority = DEFAULT_SCHEDULE[entity]
        assert schedule[entity] == EntitySchedule(every=every, priority=priority)
    assert set(schedule) == (set(DEFAULT_SCHEDULE) & KNOWN) - {"dimension"}


def test_entities_the_client_does_not_know_are_left_out_of_the_schedule() -> None:
    config = CompanyConfig.model_validate(company())
    assert set(config.schedule({"supplierInvoice", "account"})) == {"supplierInvoice", "account"}


def test_one_poll_interval_applies_to_every_entity_but_overrides_win() -> None:
    config = CompanyConfig.model_validate(
        company(poll_interval_seconds="2s", entities={"account": {"every": "10m"}})
    )
    schedule = config.schedule(KNOWN)
    assert schedule["account"].every == 600
    others = {name: s for name, s in schedule.items() if name != "account"}
    assert len(others) == len(set(DEFAULT_SCHEDULE) & KNOWN) - 1
    assert {s.every for s in others.values()} == {2.0}
    # Priorities still come from the defaults: the plan needs them when the budget is short.
    assert others["supplierInvoice"].priority < others["customer"].priority


def test_load_config_reads_a_good_file(tmp_path: Path) -> None:
    path = write(tmp_path, {"api_base": "http://sandbox/visma", "webhook_reserve": 0.2,
                            "companies": [company(hourly_budget=900)]})  # fmt: skip
    config = load_config(path)
    assert config.api_base == "http://sandbox/visma"
    assert config.webhook_reserve == 0.2
    assert config.companies[0].hourly_budget == 900


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("companies: [\n  - tenant_id: x\n    : broken", "not valid YAML"),
        ("companies: []\n", "companies"),
        ("- just\n- a list\n", "Input should be"),
        ({"companies": [company(colour="blue")]}, "companies.0.colour"),
        ({"companies": [company()], "webhook_reserve": 1.0}, "webhook_reserve"),
    ],
    ids=["yaml", "no-companies", "not-a-mapping", "unknown-key", "reserve-too-big"],
)
def test_a_bad_file_is_named_in_the_error(tmp_path: Path, document: Any, expected: str) -> None:
    path = write(tmp_path, document)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError, match=r"absent\.yaml"):
        load_config(path)


def test_an_unset_secret_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    dev = {k: v for k, v in company().items() if k != "credential"}
    config = CompanyConfig.model_validate(dev | {"client_secret_env": "MLC_TEST_UNSET_SECRET"})
    monkeypatch.delenv("MLC_TEST_UNSET_SECRET", raising=False)
    with pytest.raises(ConfigError, match="MLC_TEST_UNSET_SECRET"):
        config.env_secret()
    monkeypatch.setenv("MLC_TEST_UNSET_SECRET", "s3cret")
    assert config.env_secret().get_secret_value() == "s3cret"
