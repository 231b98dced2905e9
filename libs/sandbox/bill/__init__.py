"""The BILL v3 simulator, mounted under ``/bill``; docs/bill-sandbox.md describes it."""
