"""The demo's credentials, in an encrypted vault of its own run, each service given only its own.

A service that needs a secret gets the name of its credential and the path of the run's master
key file, never the value: the Visma client secret goes to the poller and the writer, the
Slack bot token to the sink and the approvals, the signing secrets (Slack's, the monday app's,
Visma's webhook key) to the ingress, the monday token to the monday receipts service, the BILL
password and devKey to the bill-poller, and the processor and the bill-mapping get none.
Values reach the vault from this process (as `mlc secrets set` would write them), so no
child's environment or argv holds one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from chassis.settings import KafkaSettings
from chassis.vault import CredentialVault, KafkaCredentialLog
from chassis.vault_envelope import KeyRing, MasterKey

VISMA_CREDENTIAL = "visma/mlc-demo"
SLACK_BOT_CREDENTIAL = "slack/default"
SLACK_SIGNING_CREDENTIAL = "slack/signing-secret"
TWILIO_AUTH_CREDENTIAL = "twilio/auth-token"
SENDGRID_CREDENTIAL = "sendgrid/api-key"
MONDAY_CREDENTIAL = "monday/api-token"
MONDAY_SIGNING_CREDENTIAL = "monday/signing-secret"
VISMA_WEBHOOK_CREDENTIAL = "visma/webhook-key"
BILL_DEV_KEY_CREDENTIAL = "bill/devkey"
AIRBASE_CREDENTIAL = "airbase/{tenant}"
"""The vault name of a tenant's Airbase API token ({tenant}: its tenant id)."""
BILL_PASSWORD_CREDENTIAL = "bill/{org}/password"  # noqa: S105 - a vault name, not a secret
"""`mlc bill subscribe`'s default name of an organization's password ({org}: its id)."""


def password_credential(organization_id: str) -> str:
    """The vault name of the BILL user's password for one organization."""
    return BILL_PASSWORD_CREDENTIAL.format(org=organization_id)


def airbase_credential(tenant: str) -> str:
    """The vault name of one tenant's Airbase API token."""
    return AIRBASE_CREDENTIAL.format(tenant=tenant)


NEEDS: dict[str, tuple[str, ...]] = {
    "visma-poller": (VISMA_CREDENTIAL,),
    "visma-writer": (VISMA_CREDENTIAL,),
    "slack-sink": (SLACK_BOT_CREDENTIAL,),
    "approvals": (SLACK_BOT_CREDENTIAL,),
    "ingress": (SLACK_SIGNING_CREDENTIAL, MONDAY_SIGNING_CREDENTIAL, VISMA_WEBHOOK_CREDENTIAL),
    "monday-receipts": (MONDAY_CREDENTIAL,),
    "processor": (),
    "twilio-sink": (TWILIO_AUTH_CREDENTIAL, SENDGRID_CREDENTIAL),
    "monday-sink": (MONDAY_CREDENTIAL,),
    "bill-poller": (BILL_PASSWORD_CREDENTIAL, BILL_DEV_KEY_CREDENTIAL),
    "bill-mapping": (),
    "airbase-sink": (AIRBASE_CREDENTIAL,),
    "airbase-poller": (AIRBASE_CREDENTIAL,),
}
"""Which credentials each service reads; a service not listed reads none."""


@dataclass
class DemoVault:
    """A fresh master key (a file only the user can read) and credentials topic per run."""

    state_dir: Path
    topic: str
    values: dict[str, SecretStr]
    """Credential name -> the sandbox's value for it."""
    key: MasterKey = field(default_factory=MasterKey.generate)
    stored: bool = False

    @property
    def key_file(self) -> Path:
        return self.state_dir / "master.key"

    def env_for(self, service: str) -> dict[str, str]:
        """What a service needs to open the vault, if it reads any credential."""
        if not NEEDS.get(service):
            return {}
        return {
            "MLC_MASTER_KEY": "",  # empty means unset: an operator's own key must not win
            "MLC_MASTER_KEY_FILE": str(self.key_file),
            "MLC_CREDENTIALS_TOPIC": self.topic,
        }

    def store(self, kafka: KafkaSettings) -> None:
        """Writes the key file and every credential, once per run."""
        if self.stored:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(self.key.to_base64())
        log = KafkaCredentialLog(kafka, topic=self.topic, client="mlc-demo-vault")
        log.ensure_topic()
        vault = CredentialVault(log, KeyRing(self.key))
        for name, value in self.values.items():
            vault.put(name, value)
        self.stored = True
