#!/usr/bin/env bash
# Installs everything the project needs on a fresh machine, from the project's own files:
# uv (pinned, from PyPI), the locked Python environment (.venv) and the Kafka broker jars
# (deploy/kafka/pom.xml, from Maven Central). Safe to run again: it skips what is done.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9

need() { command -v "$1" >/dev/null || { echo "bootstrap: $1 is required ($2)" >&2; exit 1; }; }
need python3 "Python 3.11"
need java "a JDK 17 or newer runs the local Kafka broker"
need mvn "Maven fetches the Kafka broker jars"

# `python3 -m uv` works right after the install, with no PATH or shim refresh.
if [ "$(python3 -m uv --version 2>/dev/null | awk '{print $2}')" != "$UV_VERSION" ]; then
  echo "bootstrap: installing uv $UV_VERSION" >&2
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
python3 -m uv sync --frozen --quiet
deploy/kafka/kafka.sh install
