"""`mlc`: the one command line for operators, the composition of every service.

It runs any service (`mlc run NAME`), the sandbox, the demo, and the operator tools (topics,
audit trail). It is the only package that imports services.
"""
