"""Airbase's poller: each payment Airbase holds as ready to sync, published once per version
as `AirbasePaymentReady`, whether or not a webhook announced it."""
