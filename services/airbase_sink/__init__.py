"""airbase-sink: writes Visma records to Airbase (vendors, bills, purchase orders, GL accounts,
subsidiaries, cost centers) and marks Airbase payments synced once Visma has booked them.

Commands on `sink.airbase.v1` are keyed by tenant (one Airbase account per tenant), so one
account's writes apply in order while tenants go in parallel. Each object is upserted by its
ERP reference (the Visma supplier number, invoice reference number, order number, account
code, cost center): the ledger knows what it wrote, Airbase is asked before anything is
created, so a replay changes nothing and a crash after Airbase's 201 never makes a second.
"""
