"""Throughput benchmarks run against the real broker: `python -m benchmarks.throughput`.

Every figure is printed next to a baseline measured in the same run on the same broker, so a
number means something on any machine; performance is never asserted by a timed test.
"""
