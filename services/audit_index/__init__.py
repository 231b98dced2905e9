"""The audit index: every id of every audit record in an embedded SQLite file, so `mlc audit
ID` answers from an index in milliseconds instead of reading all of `audit.v1`."""
