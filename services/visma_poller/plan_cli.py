"""`mlc visma plan --config FILE`: what cadence each company's budget allows, before running.

The running poller logs the same plan ("budget plan") and re-plans as it learns how many
pages each entity's polls take; this preview assumes one call per poll.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from visma_client.entities import VISMA_ENTITIES
from visma_poller.config import ConfigError, load_config
from visma_poller.schedule import EntityWish, plan


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, required=True, help="the poller's companies YAML")


def run_plan(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        for company in config.companies:
            schedule = company.schedule(set(VISMA_ENTITIES))
            wishes = [EntityWish(name, s.every, s.priority) for name, s in schedule.items()]
            budget = plan(wishes, budget_per_hour=company.hourly_budget,
                          reserve=config.webhook_reserve)  # fmt: skip
            slowed = [e.entity for e in budget.entities if e.slowed]
            verdict = f"too small: slowed {', '.join(slowed)}" if slowed else "enough"
            print(f"{company.tenant_id}/{company.company_id}: {budget.calls_per_hour:.0f} of "
                  f"{company.hourly_budget} calls/hour ({budget.reserve_per_hour} kept for "
                  f"webhook pulls); budget {verdict}")  # fmt: skip
            for entity in budget.entities:
                print(f"  {budget.describe_entity(entity.entity)}")
    except ConfigError as exc:
        print(f"mlc visma plan: {exc}", file=sys.stderr)
        return 2
    return 0
