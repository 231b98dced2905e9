"""The check results as Prometheus gauges, so an alert fires before the first command fails.

Per system and credential: `mlc_credential_check_ok` (1 or 0), the probe's latency, and the
headroom measures a probe saw (`requests_left_this_hour` for Visma and Airbase,
`complexity_left_this_minute` and `calls_left_today` for monday); plus when the last cycle
ended, so an alert can also say the checks themselves stopped. A measure a cycle did not
see (a refused token reads nothing) is removed rather than left at its old value: a stale
number would hide the failure.
deploy/prometheus/credential-check.rules.yaml alerts on them.
"""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge

from credential_check.result import CheckResult

__all__ = ["CheckGauges"]

OK = "mlc_credential_check_ok"
LATENCY = "mlc_credential_check_latency_seconds"
HEADROOM = "mlc_credential_check_headroom"
LAST_CYCLE = "mlc_credential_check_last_cycle_timestamp_seconds"
CYCLES = "mlc_credential_check_cycles"


class CheckGauges:
    """The gauges, in `registry` (the process's default one in the service, a fresh one in
    tests)."""

    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        labels = ["system", "credential"]
        self.ok = Gauge(OK, "1 when the credential's last check passed, 0 when it failed",
                        labels, registry=registry)  # fmt: skip
        self.latency = Gauge(LATENCY, "Seconds the credential's last check took", labels,
                             registry=registry)  # fmt: skip
        self.headroom = Gauge(
            HEADROOM,
            "What the last check saw left before a limit refuses calls, by measure",
            [*labels, "measure"],
            registry=registry,
        )
        self.last_cycle = Gauge(LAST_CYCLE, "When the last check cycle ended (Unix time)",
                                registry=registry)  # fmt: skip
        self.cycles = Counter(CYCLES, "Check cycles, by whether they ran (ran, vault_unavailable)",
                              ["result"], registry=registry)  # fmt: skip
        self._measured: set[tuple[str, str, str]] = set()

    def publish(self, results: Sequence[CheckResult], *, now: float) -> None:
        """One cycle's results. A credential checked twice (two entries) is OK only when both
        passed, with the longer latency and the smaller headroom."""
        ok: dict[tuple[str, str], bool] = {}
        latency: dict[tuple[str, str], float] = {}
        headroom: dict[tuple[str, str, str], float] = {}
        for result in results:
            key = (result.system, result.credential)
            ok[key] = ok.get(key, True) and result.ok
            latency[key] = max(latency.get(key, 0.0), result.latency_ms / 1000)
            for measure, value in result.headroom.items():
                left = (*key, measure)
                headroom[left] = min(headroom.get(left, value), value)
        for key, passed in ok.items():
            self.ok.labels(*key).set(1 if passed else 0)
            self.latency.labels(*key).set(latency[key])
        for left, value in headroom.items():
            self.headroom.labels(*left).set(value)
        for gone in self._measured - headroom.keys():
            self.headroom.remove(*gone)
        self._measured = set(headroom)
        self.last_cycle.set(now)
        self.cycles.labels("ran").inc()
