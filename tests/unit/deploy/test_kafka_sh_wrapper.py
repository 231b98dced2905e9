"""deploy/kafka/kafka.sh without a broker: the `tool` wrapper's choices and the install stamp.

The script runs from a copy in a temporary directory with `mvn` and `java` replaced by small
scripts on PATH that record how they were called, so what the wrapper would hand the JDK and
when the install fetches again are seen without Maven Central or a JVM.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
KAFKA_DIR = ROOT / "deploy/kafka"

FAKE_MVN = """#!/usr/bin/env bash
# Records the call, then "fetches" one jar named after the pom's hash into -DoutputDirectory.
echo "$@" >> "$CALLS"
for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out=${arg#-DoutputDirectory=} ;; esac; done
pom=$(sha256sum "$POM" | cut -c1-8)
mkdir -p "$out" && echo fetched > "$out/fetched-$pom.jar"
"""

FAKE_JAVA = """#!/usr/bin/env bash
# Prints one argument a line: what kafka.sh hands the JDK.
printf '%s\\n' "$@"
"""


class Copy:
    """deploy/kafka/kafka.sh and pom.xml in a fresh directory, with fake mvn and java."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "deploy/kafka"
        self.dir.mkdir(parents=True)
        for name in ("kafka.sh", "pom.xml"):
            shutil.copy2(KAFKA_DIR / name, self.dir / name)
        self.lib = self.dir / "lib"
        self.calls = tmp_path / "mvn-calls"
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        for name, text in (("mvn", FAKE_MVN), ("java", FAKE_JAVA)):
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
        self.env = {
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "CALLS": str(self.calls),
            "POM": str(self.dir / "pom.xml"),
            "MLC_STATE_DIR": str(tmp_path / "state"),
            "KAFKA_PORT": "29092",
        }

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.dir / "kafka.sh"), *args],
            env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def pom_hash(self) -> str:
        return hashlib.sha256((self.dir / "pom.xml").read_bytes()).hexdigest()

    def mvn_calls(self) -> int:
        return len(self.calls.read_text().splitlines()) if self.calls.exists() else 0

    def mark_installed(self) -> None:
        self.lib.mkdir()
        (self.lib / ".complete").write_text(self.pom_hash() + "\n")


@pytest.fixture
def copy(tmp_path: Path) -> Copy:
    return Copy(tmp_path)


def test_a_lib_from_before_the_tools_is_fetched_again_without_writing_into_its_files(
    copy: Copy, tmp_path: Path
) -> None:
    # A lib/ fetched by the previous kafka.sh: an empty stamp, newer than the pom, and a jar
    # that is a hard link to another checkout's copy.
    elsewhere = tmp_path / "other-checkout-kafka-clients.jar"
    elsewhere.write_text("the other checkout's jar")
    copy.lib.mkdir()
    os.link(elsewhere, copy.lib / "kafka-clients-4.1.1.jar")
    (copy.lib / ".complete").touch()

    first = copy.run("install")

    assert first.returncode == 0, first.stderr
    assert copy.mvn_calls() == 1
    assert sorted(p.name for p in copy.lib.iterdir()) == [
        ".complete", f"fetched-{copy.pom_hash()[:8]}.jar"
    ]  # fmt: skip
    assert (copy.lib / ".complete").read_text().strip() == copy.pom_hash()
    assert elsewhere.read_text() == "the other checkout's jar"
    assert not (copy.dir / "lib.new").exists()
    assert not (copy.dir / "lib.old").exists()

    again = copy.run("install")
    assert again.returncode == 0
    assert copy.mvn_calls() == 1

    # A changed pom (another tool, another version) fetches again, whatever the files' times.
    pom = copy.dir / "pom.xml"
    stamp_time = (copy.lib / ".complete").stat().st_mtime
    pom.write_text(pom.read_text().replace("<version>1</version>", "<version>2</version>"))
    os.utime(pom, (stamp_time - 60, stamp_time - 60))
    changed = copy.run("install")
    assert changed.returncode == 0
    assert copy.mvn_calls() == 2
    assert (copy.lib / f"fetched-{copy.pom_hash()[:8]}.jar").exists()


def test_tool_help_lists_the_tools_with_an_example(copy: Copy) -> None:
    result = copy.run("tool", "--help")

    assert result.returncode == 0
    for name in ("kafka-consumer-groups", "kafka-topics", "kafka-console-consumer",
                 "kafka-get-offsets", "kafka-configs"):  # fmt: skip
        assert f"  {name} " in result.stdout
    assert "127.0.0.1:29092" in result.stdout
    assert "--reset-offsets --to-datetime" in result.stdout
    assert copy.mvn_calls() == 0


def test_an_unknown_tool_is_one_line_and_exit_2(copy: Copy) -> None:
    result = copy.run("tool", "kafka-consumer-grops", "--list")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "kafka: unknown tool 'kafka-consumer-grops'; 'deploy/kafka/kafka.sh tool --help' lists them"
    ]


def java_args(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    return lines[lines.index("-cp") + 2 :]


def test_the_bootstrap_goes_where_each_tool_reads_it(copy: Copy) -> None:
    copy.mark_installed()

    groups = java_args(copy.run("tool", "kafka-consumer-groups.sh", "--list"))
    assert groups == [
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        "--bootstrap-server", "127.0.0.1:29092", "--list",
    ]  # fmt: skip
    # The broker's own variable wins over the port, as for the tests' broker.
    topics = java_args(
        copy.run("tool", "kafka-topics", "--list", env={"KAFKA_BOOTSTRAP_SERVERS": "h:1"})
    )
    assert topics[1:] == ["--bootstrap-server", "h:1", "--list"]
    # A bootstrap given by the caller is left alone.
    given = java_args(copy.run("tool", "kafka-topics", "--bootstrap-server=h:2", "--list"))
    assert given[1:] == ["--bootstrap-server=h:2", "--list"]
    quorum = java_args(copy.run("tool", "kafka-metadata-quorum", "--bootstrap-controller", "c:3",
                                "describe", "--status"))  # fmt: skip
    assert quorum[1:] == ["--bootstrap-controller", "c:3", "describe", "--status"]
    # kafka-cluster reads it after its sub-command; kafka-dump-log reads files, no broker.
    cluster = java_args(copy.run("tool", "kafka-cluster", "cluster-id"))
    assert cluster == [
        "org.apache.kafka.tools.ClusterTool", "cluster-id", "--bootstrap-server", "127.0.0.1:29092"
    ]  # fmt: skip
    dump = java_args(copy.run("tool", "kafka-dump-log", "--files", "x.log"))
    assert dump == ["kafka.tools.DumpLogSegments", "--files", "x.log"]
    assert copy.mvn_calls() == 0
