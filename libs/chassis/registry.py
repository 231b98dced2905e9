"""Schema ids from a Confluent-compatible Schema Registry, when SCHEMA_REGISTRY_URL is set.

Subjects follow the record-name strategy (the schema's full name), so one event type keeps one
subject whichever topic carries it. Registering an already registered schema returns its id,
which makes start-up idempotent. A value written by a newer producer carries an id this
service's schemas do not have: its writer schema is fetched with `GET /schemas/ids/{id}`
(Confluent's REST API), so the serde can read it with schema resolution.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from chassis.errors import SystemUnavailable
from chassis.serde import SerdeError

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryUnavailable(SystemUnavailable):
    """The Schema Registry did not answer usefully (network, 5xx, 429): ask again later."""


class SchemaRegistryIds:
    """Schema ids for our schemas (`id_for`) and writer schemas by id (`definition_of`)."""

    def __init__(self, http: httpx.Client) -> None:
        self._http = http

    def definition_of(self, schema_id: int) -> dict[str, Any]:
        try:
            response = self._http.get(
                f"/schemas/ids/{schema_id}", headers={"Accept": _CONTENT_TYPE}
            )
        except httpx.TransportError as exc:
            raise RegistryUnavailable(f"schema registry unreachable: {exc}") from exc
        if response.status_code == httpx.codes.NOT_FOUND:
            raise SerdeError(f"schema id {schema_id} is unknown to the schema registry")
        if response.status_code == httpx.codes.TOO_MANY_REQUESTS or response.status_code >= 500:
            raise RegistryUnavailable(f"schema registry answered HTTP {response.status_code}")
        if response.status_code != httpx.codes.OK:
            raise SerdeError(
                f"schema registry refused schema id {schema_id}: "
                f"HTTP {response.status_code} {response.text[:200]}"
            )
        try:
            definition = json.loads(response.json()["schema"])
        except (ValueError, KeyError, TypeError) as exc:
            raise SerdeError(f"schema registry sent no usable schema for id {schema_id}") from exc
        if not isinstance(definition, dict):
            raise SerdeError(f"schema id {schema_id} is not a record schema")
        return definition

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
