"""visma-writer: applies approved actions to Visma with ETag If-Match, once.

Commands (`ApplyVismaAction` on `sink.visma-writer.v1`) are keyed by entity, so the chassis
runner keeps each invoice's actions in order while invoices run in parallel. A ledger of
command ids (PENDING before the call, DONE after) and a look at the invoice itself make a
redelivered command, or one interrupted by a crash, a no-op once Visma has it. When the
command names a Slack thread (an approval), the writer replies there with the outcome.
"""
