"""monday-sink: writes CreateMondayItem commands to monday.com boards, one item per Visma record.

Commands are keyed by tenant/board, so the chassis runner keeps one mutation in flight per
board (monday warns that concurrent mutations on a board conflict) while boards go in
parallel. The item of a Visma record is found by its Visma id, in the ledger or by the
board's Visma ID column: a new record creates an item, a changed one updates the same item,
a replayed command changes nothing. monday's daily call limit holds a tenant's work until
the limit resets, without losing or dead-lettering a command.
"""
