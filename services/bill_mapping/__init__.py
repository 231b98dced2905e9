"""BILL to Visma: BILL vendors and bills become the Visma writer's supplier and supplier-invoice
commands, by each tenant's mapping; vendors without a Visma supplier are held with their bills."""
