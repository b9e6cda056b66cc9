"""plainpdp's benchmarks: a seeded partner-portal workload, plainpdp and its peers.

``python -m benchmarks --help`` for the options; see ``benchmarks/README.md``.
"""
