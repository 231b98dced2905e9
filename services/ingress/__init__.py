"""ingress: receives webhooks and stores them in Kafka before saying yes.

A notification is acknowledged (2xx) only once it is durably in Kafka; a bad signature, a
malformed body or a broker that cannot take it gets a clear 4xx or 503 and nothing goes
downstream. Visma notifications are a fast path: they make the poller pull at once.
Slack Events API deliveries (reactions, thread replies) become `SlackEventReceived`
records for the approvals service; Slack's retries are stored once per process, and the
record carries Slack's event_id so consumers drop what another replica also stored.
"""
