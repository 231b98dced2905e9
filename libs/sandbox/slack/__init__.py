"""Slack simulator: Web API methods, Events API delivery, and an admin API acting as people."""
