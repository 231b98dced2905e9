"""The monday-sink: Visma records as items on monday.com boards, upserted by Visma id."""
