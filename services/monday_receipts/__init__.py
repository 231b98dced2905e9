"""Receipts back from monday.com: a warehouse's "Received" on a purchase-order item becomes one
purchase receipt command for the Visma writer, from the webhook or from the reconciliation."""
