"""One benchmark run from start to finish: its id, its work folder, clean-up on every way out.

Each benchmark names its topics after the run id, so deleting the topics that contain it
removes exactly what the run made. SIGTERM unwinds like Ctrl-C, so every child is stopped
and every topic deleted; the children's logs are kept when the run did not finish.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

from confluent_kafka import KafkaException

from benchmarks.broker import BenchmarkError, Progress, delete_topics_containing, ensure_reachable
from benchmarks.processes import ChildError

Results = dict[str, Any]


class Run(Protocol):
    def __call__(
        self, args: argparse.Namespace, *, run_id: str, workdir: Path, say: Progress
    ) -> Results: ...


def progress() -> Progress:
    """Prints a line to stderr with the seconds since this was called."""
    started = time.monotonic()

    def say(line: str) -> None:
        print(f"[{time.monotonic() - started:6.1f}s] {line}", file=sys.stderr, flush=True)

    return say


def run_session(
    args: argparse.Namespace,
    run: Run,
    *,
    say: Progress,
    errors: tuple[type[Exception], ...] = (BenchmarkError, ChildError),
) -> Results | int:
    """`run`'s results, or the exit code: 1 after one of `errors` (said on stderr), 130 when
    interrupted. `args` carries `bootstrap` and `keep_topics`."""
    signal.signal(signal.SIGTERM, _interrupt)
    run_id = f"bench-{uuid.uuid4().hex[:8]}"
    workdir = Path(tempfile.mkdtemp(prefix=f"{run_id}-"))
    ok = False
    try:
        ensure_reachable(args.bootstrap)
        results = run(args, run_id=run_id, workdir=workdir, say=say)
        ok = True
        return results
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        _clean_up(args, run_id, workdir, ok=ok, say=say)


def _interrupt(signum: int, _frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so every child is stopped and every topic deleted."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _clean_up(
    args: argparse.Namespace, run_id: str, workdir: Path, *, ok: bool, say: Progress
) -> None:
    if not args.keep_topics:
        try:
            deleted = delete_topics_containing(args.bootstrap, run_id)
            say(f"deleted {len(deleted)} topics of {run_id}")
        except KafkaException as exc:  # clean-up must not hide the run's outcome
            say(f"could not delete the topics of {run_id}: {exc}")
    if ok:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        say(f"logs kept in {workdir}")
