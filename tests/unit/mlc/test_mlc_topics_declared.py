"""`mlc topics` must know every topic the code declares, or an operator's first deploy misses one.

The review topic of the Visma writer was declared beside its command and never listed: a
cluster with topic auto-creation off would have refused the writer's first conflict. This
walks every module of the `events` and `chassis` packages for module-level `TopicSpec`s.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import chassis
import events
from chassis.topics import TopicSpec
from mlc.topics import declared_topics


def _specs_in(package: ModuleType) -> dict[str, str]:
    found: dict[str, str] = {}
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, TopicSpec) and not name.startswith("_"):
                found.setdefault(value.name, f"{info.name}.{name}")
    return found


def test_every_topic_declared_in_events_and_chassis_is_created_by_mlc_topics() -> None:
    declared = {spec.name for spec in declared_topics()}
    specs = {**_specs_in(chassis), **_specs_in(events)}
    assert specs, "no TopicSpec found: the walk is broken"
    missing = {topic: where for topic, where in specs.items() if topic not in declared}
    assert missing == {}
