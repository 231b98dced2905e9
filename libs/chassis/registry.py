"""Schema ids from a Confluent-compatible Schema Registry, when SCHEMA_REGISTRY_URL is set.

Subjects follow the record-name strategy (the schema's full name), so one event type keeps one
subject whichever topic carries it. Registering an already registered schema returns its id,
which makes start-up idempotent.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from chassis.serde import SerdeError

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class SchemaRegistryIds:
    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def id_for(self, name: str, version: int, definition: dict[str, Any]) -> int:
        response = self._http.post(
            f"/subjects/{name}/versions",
            content=json.dumps({"schema": json.dumps(definition)}),
            headers={"Content-Type": _CONTENT_TYPE},
        )
        if response.status_code != httpx.codes.OK:
            raise SerdeError(
                f"schema registry refused {name} v{version}: "
                f"HTTP {response.status_code} {response.text[:200]}"
            )
        return int(response.json()["id"])
