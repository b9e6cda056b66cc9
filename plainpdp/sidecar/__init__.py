"""The gRPC sidecar (``plainpdp serve``): plainpdp as a local service.

Apart from the core library: nothing outside ``plainpdp.sidecar``,
``plainpdp.client`` and ``plainpdp._generated`` imports gRPC.

- ``config``       defaults, config file (TOML/YAML), flags
- ``convert``      protobuf messages <-> engine arguments and decisions
- ``service``      the thin gRPC handlers and their status-code mapping
- ``reload``       snapshots and hot reload (build aside, swap one reference)
- ``decision_log`` one JSON line per decision through a bounded queue
- ``metrics``      Prometheus metrics
- ``server``       workers, health, reflection, signals, the multi-process supervisor
"""
