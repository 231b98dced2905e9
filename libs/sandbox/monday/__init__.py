"""The monday.com GraphQL API simulator, mounted under ``/monday`` (``POST /monday/v2``)."""
