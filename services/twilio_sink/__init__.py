"""twilio-sink: sends SendSms and SendEmail commands through Twilio, once each.

SMS commands are keyed by recipient, so the chassis runner keeps one message in flight per
recipient while recipients go in parallel, and an account-wide cap keeps the calls to one
Twilio account under its concurrency limit (20429 is rare, and waited out when it comes).
A delivery ledger per command (PENDING before the call, DONE with the SID after, FAILED
with Twilio's code for a permanent failure) makes a redelivered command a no-op, and an
interrupted SMS is looked for in Twilio's message list before it is sent again.
"""
