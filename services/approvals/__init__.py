"""Approvals: Slack reactions and thread replies become approval signals for Visma."""
