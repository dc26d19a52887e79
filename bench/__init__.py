"""`make bench`: the portal under load and its Dataverse budget, measured against the emulator.

Run as `python -m bench [--users 40] [--duration 60] [--latency-ms 50] ...`; see docs/BENCHMARK.md.
"""
