"""Visma.net ERP simulator: Visma Connect tokens and the supplier-invoice API."""
