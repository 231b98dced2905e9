"""Slack Web API simulator: chat.postMessage, conversations.history, users.lookupByEmail."""
