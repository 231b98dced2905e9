"""The real processor (faust worker, `python -m processor`) over the benchmark's input topic.

It runs with a one-rule file whose thresholds are 0 in every currency, so each input event
yields exactly one command and commands-per-second is events-per-second. The worker gets its
own app id, output, audit and dead-letter topics, and a scratch working directory for
faust's data folder, so nothing it leaves behind touches the shared topics or the repo.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.broker import Collected, Progress, collect
from benchmarks.processes import Child
from chassis.serde import AvroSerde

RULE_NAME = "bench-every-invoice"
RULES_YAML = f"""\
# Written by benchmarks.throughput: one rule that every invoice matches, once.
rules:
  - name: {RULE_NAME}
    when:
      min_amount: {{SEK: 0, NOK: 0, DKK: 0, EUR: 0}}
    slack: {{workspace: default, channel: ap-bench}}
    template: "Invoice {{invoice_number}} from {{vendor}}: {{amount}}, due {{due_date}}"
"""


def run_processor(
    bootstrap: str,
    *,
    run_id: str,
    source: str,
    target: str,
    expected: int,
    timeout: float,
    workdir: Path,
    serde: AvroSerde,
    progress: Progress,
) -> Collected:
    """Runs the worker until `expected` distinct commands are out, then stops it (SIGTERM)."""
    rules = workdir / "bench-rules.yaml"
    rules.write_text(RULES_YAML, encoding="utf-8")
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "MLC_PROCESSOR_APP_ID": f"{run_id}-processor",
        "MLC_PROCESSOR_INPUT_TOPIC": source,
        "MLC_PROCESSOR_OUTPUT_TOPIC": target,
        "MLC_PROCESSOR_TOPIC_PREFIX": f"{run_id}.",
        "MLC_PROCESSOR_ENRICHMENT_WAIT_SECONDS": "0",
        "MLC_PROCESSOR_AUDIT_TOPIC": f"{run_id}-audit",
        "MLC_PROCESSOR_DLQ_TOPIC": f"{run_id}-dlq",
    }
    worker = Child(
        "processor",
        ["--rules", str(rules), "--loglevel", "warning"],
        log_path=workdir / "processor.log",
        env=env,
        cwd=workdir,
    )
    with worker:
        progress(f"processor started (pid {worker.process.pid}, log {worker.log_path})")

        def source_event(value: bytes) -> str:
            return str(serde.decode(value)[1]["source_event_id"])

        collected = collect(
            bootstrap,
            target,
            expected=expected,
            timeout=timeout,
            identify=source_event,
            check=worker.check_alive,
            progress=lambda line: progress(f"processor: {line}"),
        )
        progress("all commands out; stopping the processor (SIGTERM)")
    return collected
