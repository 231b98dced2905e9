"""slack-sink: posts PostSlackMessage commands to Slack, once each, 1 per second per channel.

Commands are keyed by channel, so the chassis runner keeps each channel's order and gives
each channel its own token bucket while channels post in parallel. A delivery ledger makes a
redelivered or replayed command a no-op once Slack has it, and tells other services which
Slack message (channel id, ts) each command became. A channel that falls behind is caught up
with digest messages (`--digest-backlog`); a workspace whose token Slack rejects is held,
its commands kept, until the credential is replaced (`credentials`).
"""
