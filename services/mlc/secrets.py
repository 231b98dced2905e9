"""`mlc secrets`: set, list, delete and re-key the encrypted credentials.

Values are read from stdin or a hidden prompt, never from the command line (argv is visible
to every process on the machine and lands in shell history). The vault and Kafka are
imported only when a sub-command runs.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chassis.vault import CredentialVault, MasterKey

ROTATION_HELP = """\
Re-wraps every credential's data key under a new master key; ciphertexts stay unchanged.

Without downtime:
  1. optionally, add the new key to MLC_MASTER_KEY_PREVIOUS of every replica first, so
     replicas that restart before step 3 can read entries re-wrapped under it;
  2. run this command with the current key configured (MLC_MASTER_KEY) and the new one given
     by --new-key-file or --new-key-env;
  3. roll out MLC_MASTER_KEY = new key, MLC_MASTER_KEY_PREVIOUS = old key;
  4. run this command again with --new-key-env MLC_MASTER_KEY to re-wrap anything a replica
     still on the old key wrote meanwhile, then drop the old key.
"""


def add_secrets_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="secrets_command", required=True, metavar="ACTION")

    put = sub.add_parser(
        "set",
        help="store a credential; the value comes from stdin or a hidden prompt",
        description="Stores NAME encrypted. Pipe the value on stdin (one trailing newline "
        "is dropped) or type it at the hidden prompt; it is never taken from the command line.",
    )
    put.add_argument("name", help="credential name, e.g. slack.bot-token/acme")

    sub.add_parser("list", help="print names, master key ids and update times (no values)")

    delete = sub.add_parser("delete", help="delete a credential")
    delete.add_argument("name", help="credential name")

    rotate = sub.add_parser(
        "rotate-master-key",
        help="re-wrap every credential under a new master key",
        description=ROTATION_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = rotate.add_mutually_exclusive_group(required=True)
    source.add_argument("--new-key-file", type=Path, help="file holding the new key (base64)")
    source.add_argument("--new-key-env", metavar="VAR", help="env variable holding the new key")

    sub.add_parser(
        "generate-master-key",
        help="print a new random master key (base64) on stdout and its key id on stderr",
    )


def run_secrets(args: argparse.Namespace) -> int:
    from chassis.vault import VaultError

    try:
        return _dispatch(args)
    except VaultError as exc:
        print(f"mlc secrets: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    action: str = args.secrets_command
    if action == "generate-master-key":
        return _generate()
    vault = _vault(needs_key=action != "list")
    vault.load()
    if action == "set":
        return _set(vault, args.name)
    if action == "list":
        return _list(vault)
    if action == "delete":
        vault.delete(args.name)
        print(f"deleted {args.name}")
        return 0
    return _rotate(vault, _new_key(args))


def _vault(*, needs_key: bool) -> CredentialVault:
    from chassis.vault import VaultSettings, key_ring_from_settings, vault_from_environment

    settings = VaultSettings()
    if needs_key:
        key_ring_from_settings(settings)  # a missing or bad key fails before Kafka is touched
    return vault_from_environment(settings=settings)


def _generate() -> int:
    from chassis.vault import MasterKey

    key = MasterKey.generate()
    print(key.to_base64())
    print(f"key id {key.key_id}", file=sys.stderr)
    return 0


def _set(vault: CredentialVault, name: str) -> int:
    from pydantic import SecretStr

    value = _read_value(name)
    if not value:
        print("mlc secrets: empty value, nothing stored", file=sys.stderr)
        return 2
    vault.put(name, SecretStr(value))
    print(f"stored {name} under master key {vault.ring.current.key_id}")
    return 0


def _read_value(name: str) -> str:
    if sys.stdin.isatty():
        value = getpass.getpass(f"value of {name} (hidden): ")
        if getpass.getpass("again: ") != value:
            print("mlc secrets: the two entries differ", file=sys.stderr)
            return ""
        return value
    value = sys.stdin.read()
    return value.removesuffix("\n").removesuffix("\r")


def _list(vault: CredentialVault) -> int:
    entries = vault.entries()
    if not entries:
        print("no credentials")
        return 0
    ring = vault.configured_ring
    print(f"{'NAME':40} {'KEY ID':16} {'KEY':9} UPDATED (UTC)")
    for record in entries:
        if ring is None:
            held = "?"
        elif record.key_id == ring.current.key_id:
            held = "current"
        else:
            held = "previous" if ring.find(record.key_id) else "MISSING"
        updated = record.updated_at.isoformat(timespec="seconds")
        print(f"{record.name:40} {record.key_id:16} {held:9} {updated}")
    return 0


def _new_key(args: argparse.Namespace) -> MasterKey:
    from chassis.vault import MasterKey, MasterKeyError

    if args.new_key_file is not None:
        path: Path = args.new_key_file
        try:
            text = path.read_text()
        except OSError as exc:
            raise MasterKeyError(f"cannot read {path}: {exc.strerror}") from None
        return MasterKey.from_base64(text, source=str(path))
    env_text = os.environ.get(args.new_key_env)
    if not env_text:
        raise MasterKeyError(f"environment variable {args.new_key_env} is not set")
    return MasterKey.from_base64(env_text, source=args.new_key_env)


def _rotate(vault: CredentialVault, new: MasterKey) -> int:
    old = vault.ring
    report = vault.rotate(old.rotated_to(new))
    print(
        f"re-wrapped {len(report.rewrapped)} credentials under master key {new.key_id} "
        f"({len(report.already_current)} were under it already); ciphertexts unchanged"
    )
    if report.rewritten:
        print(f"changed by someone else while this ran, and kept: {', '.join(report.rewritten)}")
    print("Now change the deployment of every replica:")
    print(f"  MLC_MASTER_KEY (or MLC_MASTER_KEY_FILE) = the new key, id {new.key_id}")
    if old.current.key_id != new.key_id:
        print(f"  MLC_MASTER_KEY_PREVIOUS = the old key, id {old.current.key_id}")
        print(
            "Once every replica runs with the new key, run this command again with "
            "--new-key-env MLC_MASTER_KEY, then remove MLC_MASTER_KEY_PREVIOUS."
        )
    return 0
