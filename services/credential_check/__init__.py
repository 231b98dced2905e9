"""Credential checks: one read-only probe per configured credential, run by `mlc check` once
and by the `credential-check` service every few minutes (its results as Prometheus gauges, so
a credential about to fail raises an alert before the first command fails)."""
