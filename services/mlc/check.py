"""`mlc check`: ping the real systems with every configured credential, changing nothing.

Reads the systems and credential names from `--config FILE` (shape in docs/operations.md),
the secrets from the vault, runs one read-only probe per credential (`credential_check`) and
prints one line each: system, credential, OK or the exact reason, latency, what to do. The
exit status is 1 when any check failed, 2 when the command itself could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from pydantic import SecretStr

from chassis.errors import ConnectorError, PermanentError
from credential_check.config import SYSTEMS, CheckConfig, CheckEntry, load_check_config
from credential_check.probes import CheckResult, probe_all

__all__ = ["add_arguments", "run", "run_checks"]

EXAMPLE = """example:
  mlc check --config deploy/check.example.yaml
  mlc check --config deploy/check.example.yaml --system slack --credential slack.acme-bot

The secrets come from the vault (MLC_MASTER_KEY or MLC_MASTER_KEY_FILE and the Kafka
settings, as for `mlc secrets`); the file names them.
Exit status: 0 all OK, 1 a check failed, 2 an error.
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Test each configured credential against its system without side effects."
    p.epilog = EXAMPLE
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument(
        "--config", type=Path, required=True, help="YAML file: systems, API bases, credential names"
    )
    p.add_argument("--system", choices=SYSTEMS, help="check only this system")
    p.add_argument("--credential", metavar="NAME", help="check only this credential")


async def run_checks(
    config: CheckConfig,
    *,
    secret: Callable[[str], SecretStr],
    transport: httpx.AsyncBaseTransport | None = None,
    system: str | None = None,
    credential: str | None = None,
) -> list[CheckResult]:
    """Every chosen entry probed, one after the other."""
    chosen = _chosen(config, system=system, credential=credential)
    return await probe_all(chosen, secret=secret, transport=transport)


def _chosen(config: CheckConfig, *, system: str | None, credential: str | None) -> list[CheckEntry]:
    entries = [
        e
        for e in config.entries()
        if (system is None or e.system == system)
        and (credential is None or e.credential == credential)
    ]
    if not entries:
        wanted = " ".join(
            f"{k} {v}" for k, v in (("system", system), ("credential", credential)) if v
        )
        raise _NothingToCheck(f"no configured credential matches {wanted or 'the file'}")
    return entries


class _NothingToCheck(PermanentError):
    """The file, or the --system/--credential filter, leaves nothing to check."""


def run(args: argparse.Namespace) -> int:
    from chassis.vault import vault_from_environment

    try:
        config = load_check_config(args.config)
        _chosen(config, system=args.system, credential=args.credential)
        vault = vault_from_environment()
        vault.load()
        results = asyncio.run(
            run_checks(config, secret=vault.get, system=args.system, credential=args.credential)
        )
    except ConnectorError as exc:
        print(f"mlc check: {exc}", file=sys.stderr)
        return 2
    return report(results)


def report(results: list[CheckResult]) -> int:
    """The lines printed; 1 when any check failed."""
    for result in results:
        print(result.line())
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} OK, {failed} failed")
    return 1 if failed else 0
