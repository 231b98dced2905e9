"""Airbase to Visma: payments Airbase made (`airbase.payment.v1`) become the Visma writer's
supplier payments, by each tenant's mapping; a payment the mapping cannot book is held."""
