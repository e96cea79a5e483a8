"""Simulated calls and callers (``ivr call``, tests, benches) and ``ivr nlu --audio``."""
