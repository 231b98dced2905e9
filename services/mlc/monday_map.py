"""`mlc monday map --board ID`: the setup wizard that writes a board's column mapping.

It reads the board's columns with the tenant's token, proposes what each column shows
(title match first, then type: `monday_sink.mapping.proposal`), lets the person accept or
change each pair (`mlc.monday_map_dialogue`), previews the newest Visma record of the
source topic rendered into the columns (`mlc.monday_preview`), and writes the mapping file
the monday-sink reads (`--mapping FILE`): the board's pairs as an explicit table by column
id, next to the other boards the file already maps. `--accept` takes the proposal without
questions. Everything printed here is the command's user output; errors are one line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import httpx
from pydantic import SecretStr

from chassis.errors import PermanentError
from chassis.jsonlog import REDACTOR
from chassis.settings import KafkaSettings
from chassis.vault import CredentialVault, VaultError, vault_from_environment
from events.topics import visma_topic
from events.visma_entities import VISMA_EVENTS
from mlc.monday_map_dialogue import Dialogue, describe, preview_lines
from mlc.monday_preview import Preview, newest_record
from monday_client import (
    DEFAULT_API_VERSION,
    DEFAULT_BASE_URL,
    Board,
    MondayAuthError,
    MondayBoardNotFound,
    MondayClient,
    MondayError,
)
from monday_sink.mapping import (
    BoardSpec,
    BoundMapping,
    MappingError,
    MappingFile,
    RecordValueError,
    bind,
    load_mappings,
)
from monday_sink.mapping.proposal import Pair, proposal_spec, propose

__all__ = ["MapOptions", "WizardError", "add_arguments", "map_board", "run"]

LABELLED = ("status", "dropdown")
TOKEN_ENV = "MLC_MONDAY_TOKEN"  # noqa: S105 - the variable's name, not a token
API_URL_ENV = "MLC_MONDAY_API_URL"
EXAMPLE = f"""\
The token: {TOKEN_ENV} (e.g. the sandbox's demo token), or --credential NAME for one
stored in the credential vault with `mlc secrets set NAME`. Against the sandbox:

  {TOKEN_ENV}=mlc-demo-monday-token mlc monday map --board 1000000001 \\
      --api-url http://127.0.0.1:18080/monday --tenant t1 --out mapping.yaml

Each column is shown with what it would hold; Enter keeps it, a field name changes it, '-'
leaves the column alone, '?' lists the fields that fit. The newest supplier invoice on the
Visma topic (--entity for another kind) is shown rendered into the columns before writing.
An existing file keeps its other boards; changing it asks first (--force does not).
Then: mlc run monday-sink --mapping mapping.yaml --tenant-credential t1=NAME
"""


class WizardError(PermanentError):
    """The wizard cannot go on: a one-line reason for the person at the terminal."""


@dataclass(frozen=True)
class MapOptions:
    board: str
    out: Path
    tenant: str | None = None
    accept: bool = False
    create_labels: bool = False
    """Let monday add status and dropdown labels a record needs (asked in a session)."""
    force: bool = False
    entity: str = "supplierInvoice"
    credential: str | None = None
    api_url: str = DEFAULT_BASE_URL
    api_version: str = DEFAULT_API_VERSION
    preview_topic: str | None = None
    transport: httpx.AsyncBaseTransport | None = None
    vault: Callable[[], CredentialVault] | None = None
    """Opens the credential vault (default: the one the environment configures)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXAMPLE
    parser.add_argument("--board", required=True, metavar="ID", help="the monday board's id")
    parser.add_argument("--tenant", help="whose board it is (written in the file)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("monday-mapping.yaml"),
        metavar="FILE",
        help="the mapping file to write (default: monday-mapping.yaml)",
    )
    parser.add_argument("--accept", action="store_true", help="take the proposal, ask nothing")
    parser.add_argument(
        "--create-labels",
        action="store_true",
        help="let monday add a status or dropdown label a record needs (default: refuse it)",
    )
    parser.add_argument(
        "--force", action="store_true", help="change an existing file without asking"
    )
    parser.add_argument(
        "--entity",
        default="supplierInvoice",
        choices=sorted(VISMA_EVENTS),
        metavar="ENTITY",
        help="the kind of Visma record to preview (default supplierInvoice)",
    )
    parser.add_argument(
        "--credential",
        metavar="NAME",
        help=f"the token's name in the vault (default: ${TOKEN_ENV})",
    )
    parser.add_argument(
        "--api-url",
        default=os.environ.get(API_URL_ENV, DEFAULT_BASE_URL),
        help=f"monday's API base (default ${API_URL_ENV} or {DEFAULT_BASE_URL})",
    )
    parser.add_argument("--api-version", default=DEFAULT_API_VERSION, help=argparse.SUPPRESS)
    parser.add_argument("--preview-topic", help=argparse.SUPPRESS)  # tests: a topic of their own


def run(args: argparse.Namespace) -> int:
    options = MapOptions(
        board=args.board,
        out=args.out,
        tenant=args.tenant,
        accept=args.accept,
        create_labels=args.create_labels,
        force=args.force,
        entity=args.entity,
        credential=args.credential,
        api_url=args.api_url,
        api_version=args.api_version,
        preview_topic=args.preview_topic,
    )
    try:
        return asyncio.run(map_board(options, ask=input, out=sys.stdout, env=os.environ))
    except WizardError as exc:
        print(f"mlc monday map: error: {exc}", file=sys.stderr)
        return 1
    except EOFError:
        print("\nnothing written", file=sys.stdout)
        return 1


def monday_token(options: MapOptions, env: Mapping[str, str]) -> SecretStr:
    """--credential from the vault, else the environment's token; registered for redaction."""
    if options.credential:
        try:
            vault = (options.vault or vault_from_environment)()
            vault.load()
            token = vault.get(options.credential)
        except VaultError as exc:
            raise WizardError(f"the monday token {options.credential!r}: {exc}") from exc
    elif env.get(TOKEN_ENV):
        token = SecretStr(env[TOKEN_ENV])
    else:
        raise WizardError(
            f"no monday token: set {TOKEN_ENV} or give --credential NAME "
            "(stored with `mlc secrets set NAME`)"
        )
    REDACTOR.register(token)
    return token


async def read_board(options: MapOptions, token: SecretStr) -> Board:
    async with MondayClient(
        token,
        base_url=options.api_url,
        api_version=options.api_version,
        transport=options.transport,
    ) as client:
        try:
            return await client.board(options.board)
        except MondayBoardNotFound:
            raise WizardError(
                f"board {options.board}: monday has no such board, or this token cannot see it"
            ) from None
        except MondayAuthError as exc:
            raise WizardError(f"monday refused the token ({exc})") from None
        except MondayError as exc:
            raise WizardError(
                f"cannot read board {options.board} at {options.api_url}: {exc}"
            ) from None


def existing_file(options: MapOptions) -> MappingFile | None:
    """The mapping file already at --out (its other boards are kept), or None."""
    if not options.out.exists():
        return None
    if options.accept and not options.force:
        raise WizardError(f"{options.out} exists; --force writes board {options.board} into it")
    try:
        existing = load_mappings(options.out)
    except MappingError as exc:
        raise WizardError(f"{exc} (not overwritten: move it away or fix it)") from None
    if options.tenant and existing.tenant and options.tenant != existing.tenant:
        raise WizardError(f"{options.out} is tenant {existing.tenant}'s, not {options.tenant}'s")
    return existing


async def map_board(
    options: MapOptions,
    *,
    ask: Callable[[str], str],
    out: TextIO,
    env: Mapping[str, str],
    preview: Callable[[str], Preview] | None = None,
) -> int:
    """Reads, proposes, asks, previews and writes; 0 once the file is written."""
    token = monday_token(options, env)
    existing = existing_file(options)
    board = await read_board(options, token)
    topic = options.preview_topic or visma_topic(options.entity).name
    print(f"Reading the newest Visma record on {topic} for the preview...", file=out, flush=True)
    sample = (preview or (lambda t: newest_record(KafkaSettings(), t)))(topic)
    print(f"Preview record: {sample.source}", file=out)
    pairs = propose(board)
    describe(board, pairs, out)
    dialogue = Dialogue(ask=ask, out=out, sample=sample.fields)
    create_labels = options.create_labels
    if not options.accept:
        pairs = dialogue.review(pairs)
        create_labels = create_labels or _labels_wanted(pairs, ask=ask)
    spec, bound = _checked(
        board, pairs, dialogue=dialogue, accept=options.accept, create_labels=create_labels
    )
    if sample.found:
        print(f"The preview record in the columns ({sample.source}):", file=out)
        try:
            preview_lines(bound, sample.fields, out)
        except RecordValueError as exc:
            print(f"  the sink would refuse this record: {exc}", file=out)
    if not _confirmed(options, existing, ask=ask):
        print("nothing written", file=out)
        return 1
    _write(options, existing, board, spec, pairs)
    print(
        f"wrote {options.out}: board {board.id}, {len(bound.columns)} of "
        f"{len(board.columns)} columns mapped; the sink reads it with --mapping "
        f"{options.out}",
        file=out,
    )
    return 0


def _labels_wanted(pairs: list[Pair], *, ask: Callable[[str], str]) -> bool:
    """Asked only when a status or dropdown column shows a field: a Visma value the column
    has no label for is refused (the record is not written) unless monday may add it."""
    labelled = [p.column.title for p in pairs if p.fields and p.column.type in LABELLED]
    if not labelled:
        return False
    columns = ", ".join(repr(title) for title in labelled)
    lack = "lacks" if len(labelled) == 1 else "lack"
    answer = ask(f"May monday add labels {columns} {lack} for a Visma value? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _checked(
    board: Board, pairs: list[Pair], *, dialogue: Dialogue, accept: bool, create_labels: bool
) -> tuple[BoardSpec, BoundMapping]:
    """The pairs bound to the board as the sink will bind them; asks again until they bind."""
    while True:
        spec = proposal_spec(board, pairs, create_labels_if_missing=create_labels)
        try:
            return spec, bind(board, spec)
        except MappingError as exc:
            if accept:
                raise WizardError(f"the proposal cannot work: {exc}") from None
            print(f"  {exc}", file=dialogue.out)
        answer = dialogue.ask(f"Change which column (1-{len(pairs)}, Enter to quit)? ").strip()
        if not answer:
            raise EOFError
        if answer.isdigit() and 1 <= int(answer) <= len(pairs):
            pairs = dialogue.review_one(pairs, int(answer) - 1)


def _confirmed(
    options: MapOptions, existing: MappingFile | None, *, ask: Callable[[str], str]
) -> bool:
    if options.accept or (existing is not None and options.force):
        return True
    if existing is None:
        return ask(f"Write {options.out}? [Y/n] ").strip().lower() in ("", "y", "yes")
    boards = ", ".join(spec.board for spec in existing.boards)
    question = (
        f"{options.out} exists (boards {boards}): write board {options.board} into it? [y/N] "
    )
    return ask(question).strip().lower() in ("y", "yes")


def _write(
    options: MapOptions,
    existing: MappingFile | None,
    board: Board,
    spec: BoardSpec,
    pairs: list[Pair],
) -> None:
    others = [s for s in existing.boards if s.board != spec.board] if existing else []
    tenant = options.tenant or (existing.tenant if existing else None)
    mapping = MappingFile(tenant=tenant, boards=[*others, spec])
    header = [
        f"monday column mapping, written by `mlc monday map --board {board.id}` on "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        f"Board {board.name!r} ({board.id}):",
    ]
    header += [
        f"  {p.column.title!r} ({p.column.id}) <- {' | '.join(p.fields) or '-'}" for p in pairs
    ]
    text = mapping.to_yaml(header="\n".join(header))
    partial = options.out.with_name(options.out.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(options.out)
