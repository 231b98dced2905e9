"""visma-writer: applies approved actions to Visma with ETag If-Match, once."""
