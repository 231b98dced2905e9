"""The Airbase simulator: a DRF-shaped REST API per tenant, an approver's admin routes,
signed webhooks, an hourly limit and a profile that renames paths and fields."""
