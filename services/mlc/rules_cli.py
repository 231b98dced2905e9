"""`mlc rules test`: which rules match one event, why the others do not, and what gets sent.

For people writing rules: no Kafka, no sinks, just the rules file, one event as JSON and the
same routing the processor runs. Everything printed here is the command's user output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from events import VISMA_EVENTS, VismaEntityChanged
from events.commands import Command, SendSms
from processor.deployed_sinks import DeployedSinks
from processor.matchers import first_failure
from processor.routing import commands_for
from processor.rules import RulesFileError, load_rules
from processor.rules_facts import facts_of
from processor.sms_segments import measure

EVENT_HELP = """\
SAMPLE.json is one canonical event as JSON: the envelope (entity_type, event_id, tenant_id,
company_id, entity_id, change_type CREATED|UPDATED|DELETED, last_modified, observed_at as
ISO-8601) plus the entity's payload field (supplierInvoice: "invoice", purchaseOrder:
"purchase_order", ...), exactly as on the Visma topic. Amounts may be strings or numbers and
are read as exact decimals. ENRICHMENT.json is a flat object of strings such as
vendor_name, vendor_category, approver_email, cost_center. --today defaults to the day the
event was observed. Example: services/processor/examples/supplier-invoice.json

An SMS is shown with its segments: GSM-7 holds 160 characters in one segment and 153 in each
of a longer message's (extension characters such as € [ ] { } | ^ ~ count double); a single
character outside GSM-7 makes the whole body UCS-2, 70 in one and 67 each when split. A body
over its target's max_segments (default 2, at most 10) is cut to fit and ends with an
ellipsis ('...' in GSM-7, '…' in UCS-2). An email is shown with its plain-text body; its HTML
part, styled like the Slack message, is sent beside it.
"""


class SampleError(Exception):
    """The event or enrichment file cannot be read as what it claims to be."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EVENT_HELP
    parser.add_argument("file", type=Path, metavar="FILE", help="the rules YAML")
    parser.add_argument("--event", type=Path, required=True, metavar="SAMPLE.json")
    parser.add_argument("--enrichment", type=Path, metavar="ENRICHMENT.json")
    parser.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD")


def run(args: argparse.Namespace) -> int:
    return rules_test(
        args.file, event=args.event, enrichment=args.enrichment, today=args.today, out=sys.stdout
    )


def rules_test(
    rules_path: Path,
    *,
    event: Path,
    enrichment: Path | None = None,
    today: date | None = None,
    out: TextIO,
) -> int:
    """Prints the verdict of every rule and each matching target's message, then every rule
    that targets a sink not deployed (`MLC_DEPLOYED_SINKS`); 2 on bad input."""
    try:
        rules = load_rules(rules_path)
        sample = read_event(event)
        extra = read_enrichment(enrichment) if enrichment else {}
        deployed = DeployedSinks()
    except (RulesFileError, SampleError) as exc:
        print(f"error: {exc}", file=out)
        return 2
    except ValidationError as exc:
        print(f"error: MLC_DEPLOYED_SINKS: {exc.errors()[0]['msg']}", file=out)
        return 2
    facts = facts_of(sample, enrichment=extra, today=today)
    print(f"event {sample.key} {sample.change_type} (today {facts.today})", file=out)
    matched = 0
    for rule in rules.rules:
        failed = first_failure(rule.when, facts)
        if failed is not None:
            print(f"  no match  {rule.name}: {failed} does not hold", file=out)
            continue
        matched += 1
        print(f"  MATCH     {rule.name}", file=out)
        for command in commands_for(facts, rule):
            print(describe(command), file=out)
    print(f"{matched} of {len(rules.rules)} rules match", file=out)
    for note in deployed.notes(rules):
        print(f"warning: {note}", file=out)
    return 0


def describe(command: Command) -> str:
    """A command as the sink would receive it: its target, then its message fields."""
    skip = {"command_id", "tenant_id", "rule", "source_event_id", "entity_type", "entity_id",
            "created_at", "blocks_json", "payload_json", "html", "resend_of"}  # fmt: skip
    fields = {k: v for k, v in command.model_dump().items() if k not in skip}
    if isinstance(command, SendSms):
        size = measure(command.body)
        fields["segments"] = f"{size.segments} ({size.encoding}, {size.units} units)"
    lines = [f"      -> {type(command).__name__} [{command.command_id[:12]}]"]
    for name, value in fields.items():
        if isinstance(value, dict):  # a Monday item's fields, one line each
            lines += [f"         {name}.{key}: {text}" for key, text in sorted(value.items())]
        else:
            lines.append(f"         {name}: {value}")
    return "\n".join(lines)


def read_event(path: Path) -> VismaEntityChanged:
    data = _read_json(path)
    kind = data.get("entity_type")
    model = VISMA_EVENTS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise SampleError(f"{path.name}: entity_type must be one of {', '.join(VISMA_EVENTS)}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SampleError(f"{path.name}: {where}: {first['msg']}") from exc


def read_enrichment(path: Path) -> Mapping[str, str]:
    data = _read_json(path)
    return {str(k): str(v) for k, v in data.items() if v is not None}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise SampleError(f"{path.name}: cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise SampleError(f"{path.name} line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    if not isinstance(data, dict):
        raise SampleError(f"{path.name}: expected a JSON object")
    return data
