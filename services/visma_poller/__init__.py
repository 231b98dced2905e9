"""visma-poller: reads changes from Visma.net ERP and publishes them as canonical events.

Polling is the primary mechanism (delta queries on lastModifiedDateTime with an overlap
window); each page of events is written together with the poller's cursor in one Kafka
transaction, so a crash never loses or repeats a change.
"""
