"""`mlc run credential-check`: every configured credential checked every few minutes, the
results as Prometheus gauges on the health port's /metrics."""

from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from chassis.entrypoint import EXIT_BAD_CONFIGURATION, read_configuration, service_logging
from chassis.service import run_service
from chassis.settings import KafkaSettings
from chassis.vault import vault_from_environment
from chassis.yaml_source import YamlSourceError
from credential_check.config import CheckConfig, load_check_config
from credential_check.inject import SERVICE, CheckOptions, build, vault_reader
from credential_check.schedule import CredentialCheckService

__all__ = ["main", "parser"]

EXAMPLE = """\
example:
  mlc run credential-check --config /etc/mlc/check.yaml --every-minutes 5

The file is the one `mlc check --config` reads (deploy/check.example.yaml); the vault as
for `mlc secrets` (MLC_MASTER_KEY or MLC_MASTER_KEY_FILE, the Kafka settings). Gauges per
system and credential on MLC_HEALTH_PORT's /metrics:
  mlc_credential_check_ok (1/0), mlc_credential_check_latency_seconds,
  mlc_credential_check_headroom{measure=requests_left_this_hour|
    complexity_left_this_minute|calls_left_today},
  mlc_credential_check_last_cycle_timestamp_seconds, mlc_credential_check_cycles_total.
Alert rules: deploy/prometheus/credential-check.rules.yaml.
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mlc run credential-check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Check every configured credential against its system, without side effects, "
            "every few minutes (the probes of `mlc check`), and expose the results as "
            "Prometheus gauges, so a credential that is about to fail (a changed BILL "
            "password, an uninstalled Slack app, a Visma or monday allowance running out) "
            "raises an alert before the first command fails. Secrets come from the vault "
            "(read again each cycle); the file only names them.",
            width=88,
        ),
        epilog=EXAMPLE,
    )
    p.add_argument("--config", type=Path, required=True, help="the checks YAML (as mlc check)")
    p.add_argument(
        "--every-minutes",
        type=float,
        default=5.0,
        help="minutes between two check cycles (default 5)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.every_minutes <= 0:
        parser().error("--every-minutes must be positive")
    service = service_logging(SERVICE)
    config = read_configuration(lambda: load_check_config(args.config), invalid=YamlSourceError)
    if config is None:
        return EXIT_BAD_CONFIGURATION
    options = CheckOptions(every_seconds=args.every_minutes * 60)

    def build_service() -> CredentialCheckService:
        vault = vault_from_environment(kafka=KafkaSettings())
        return build(config, read_secrets=vault_reader(vault), options=options)

    run_service(
        build_service,
        health_port=service.health_port,
        service=SERVICE,
        credentials=len(_entries(config)),
    )
    return 0


def _entries(config: CheckConfig) -> list[str]:
    return [f"{e.system}/{e.credential}" for e in config.entries()]
