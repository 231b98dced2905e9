"""Which build of ml-connector is running, so every audit record says which code acted.

A replay or an incident review reads the audit trail months later; without the version of
the service that wrote each record nobody can tell whether a fix was already deployed. The
version is resolved once per process, in this order:

1. `MLC_BUILD_VERSION`, set by the image build (`docker build --build-arg
   MLC_BUILD_VERSION=...`): the package version and the git commit it was built from;
2. the installed package's version (`importlib.metadata`), with `+g<commit>` (and `.dirty`
   for uncommitted changes) when the code runs from a git checkout;
3. `unknown`, when neither is known (never an error: the audit must still be written).
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

BUILD_VERSION_ENV = "MLC_BUILD_VERSION"
PACKAGE = "ml-connector"
UNKNOWN = "unknown"
SOURCE_ROOT = Path(__file__).resolve().parents[2]
"""The checkout the chassis is imported from (libs/chassis/.. /..), when it is one."""


def resolve_build_version(
    environ: Mapping[str, str],
    *,
    package_version: Callable[[], str | None],
    source_commit: Callable[[], str | None],
) -> str:
    """The build version from the environment, else the package version and commit."""
    configured = environ.get(BUILD_VERSION_ENV, "").strip()
    if configured:
        return configured
    version = package_version()
    if version is None:
        return UNKNOWN
    commit = source_commit()
    return f"{version}+g{commit}" if commit else version


def installed_package_version() -> str | None:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None


def checkout_commit(root: Path = SOURCE_ROOT) -> str | None:
    """The short commit of the git checkout at `root` (`.dirty` appended when it has
    uncommitted changes), or None when the code does not run from a checkout: an installed
    wheel or an image has no `.git`, and must not report some enclosing repository's."""
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        return None
    try:
        described = subprocess.run(  # noqa: S603 - argv is built here, no user input
            [git, "describe", "--always", "--dirty=.dirty", "--abbrev=12", "--exclude=*"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no usable git here: the package version alone is still true
    return described.stdout.strip() or None


@functools.cache
def build_version() -> str:
    """This process's build version, resolved once (see the module docstring)."""
    return resolve_build_version(
        os.environ, package_version=installed_package_version, source_commit=checkout_commit
    )
