"""The shared chassis every ml-connector service stands on.

Kafka (serde, topics, producers, the consumer runner), settings, logging, HTTP retry, rate
limits, audit and health. Nothing in here knows about a particular external system.
"""
