"""A private broker of the project's own (deploy/kafka/kafka.sh) with a SCRAM and a TLS
listener beside its plaintext one, for tests of the clients' security settings.

It has its own ports and state directory, so the shared broker is never touched. The TLS
material is a throwaway CA and a broker certificate for 127.0.0.1 made here with
`cryptography`; the SCRAM users are created through the plaintext listener with the Admin
API, as `kafka-configs --alter --add-config SCRAM-SHA-...` does.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Tls:
    ca_file: Path
    keystore_file: Path


def make_tls(directory: Path) -> Tls:
    """A CA, and a broker key and certificate it signed for 127.0.0.1 and localhost."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mlc test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(pem))
    keystore = directory / "broker-keystore.pem"
    keystore.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(pem)
        + ca.public_bytes(pem)
    )
    return Tls(ca_file=ca_file, keystore_file=keystore)


@dataclass
class SecureBroker:
    state_dir: Path
    tls: Tls
    port: int
    controller_port: int
    sasl_port: int
    ssl_port: int

    @property
    def plaintext(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"

    @property
    def ssl(self) -> str:
        return f"127.0.0.1:{self.ssl_port}"

    def _kafka_sh(self, action: str) -> None:
        env = os.environ | {
            "MLC_STATE_DIR": str(self.state_dir),
            "KAFKA_PORT": str(self.port),
            "KAFKA_CONTROLLER_PORT": str(self.controller_port),
            "KAFKA_SASL_PORT": str(self.sasl_port),
            "KAFKA_SSL_PORT": str(self.ssl_port),
            "KAFKA_SSL_KEYSTORE_PEM": str(self.tls.keystore_file),
        }
        subprocess.run(
            [str(ROOT / "deploy/kafka/kafka.sh"), action], env=env, check=True, timeout=180
        )

    def start(self) -> None:
        self._kafka_sh("start")

    def stop(self) -> None:
        self._kafka_sh("stop")

    def add_scram_user(self, user: str, password: str, *, timeout: float = 30.0) -> None:
        """Both SCRAM mechanisms for `user`, waiting until the broker knows them."""
        admin = AdminClient({"bootstrap.servers": self.plaintext})
        # One mechanism per request: the broker refuses a user twice in one request.
        for mechanism in (ScramMechanism.SCRAM_SHA_256, ScramMechanism.SCRAM_SHA_512):
            upsert = UserScramCredentialUpsertion(
                user, ScramCredentialInfo(mechanism, 4096), password.encode()
            )
            for future in admin.alter_user_scram_credentials([upsert]).values():
                future.result(timeout)
        deadline = time.monotonic() + timeout
        while True:
            future = admin.describe_user_scram_credentials([user])[user]
            try:
                if len(future.result(timeout).scram_credential_infos) == 2:
                    return
            except KafkaException:  # not known yet
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"SCRAM credentials of {user} not applied in {timeout}s")
            time.sleep(0.1)


def start_secure_broker(directory: Path) -> SecureBroker:
    broker = SecureBroker(
        state_dir=directory / "state",
        tls=make_tls(directory),
        port=free_port(),
        controller_port=free_port(),
        sasl_port=free_port(),
        ssl_port=free_port(),
    )
    broker.start()
    return broker
