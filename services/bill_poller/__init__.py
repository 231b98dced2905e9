"""BILL's poller: every change of an organization's vendors and bills as a canonical event,
whether or not BILL's webhook for it arrived."""
