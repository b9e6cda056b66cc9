"""The load benchmark's raw HTTP/2 client against a real sidecar worker on loopback:
answers are counted, errors are not, the schedule holds, flow control works."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
if getattr(sys.modules.get("benchmarks"), "__file__", "") is None:
    del sys.modules["benchmarks"]  # a namespace package picked up from tests/

from benchmarks.wire_client import WireError, header_block, run_load  # noqa: E402
from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb  # noqa: E402
from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb  # noqa: E402
from plainpdp.sidecar.config import SidecarConfig  # noqa: E402
from plainpdp.sidecar.reload import Source  # noqa: E402
from plainpdp.sidecar.server import Worker  # noqa: E402

POLICIES = Path(_ROOT) / "policies"
CHECK = "/plainpdp.v1.AuthorizationService/Check"
CHECK_BATCH = "/plainpdp.v1.AuthorizationService/CheckBatch"


def _check(user: str, action: str, doc: str) -> pb.CheckRequest:
    return pb.CheckRequest(
        principal=vpb.EntityUid(type="User", id=user),
        action=vpb.EntityUid(type="Action", id=action),
        resource=vpb.EntityUid(type="Document", id=doc),
        context=vpb.Record(fields={"mfa": vpb.Value(bool_value=True)}),
    )


GOOD = _check("bob", "edit", "acme-po-1001").SerializeToString()
BAD = pb.CheckRequest(principal=vpb.EntityUid(type="", id="bob")).SerializeToString()


@pytest.fixture(scope="module")
def worker():
    config = SidecarConfig()
    config.server.listen = "127.0.0.1:0"
    config.policies.reload_interval_seconds = 0
    w = Worker(config, source=Source(str(POLICIES)), log_writer=lambda _line: None)
    port = w.start()
    w.load()
    yield port
    w.shutdown()


def _run(port: int, messages: list[bytes], path: str = CHECK, **kw):
    args = {"connections": 2, "seconds": 0.4, "max_calls": 100_000, "rate": 0.0,
            "start_at": time.time()}
    return run_load("127.0.0.1", port, path, messages, **{**args, **kw})


def test_closed_loop_counts_every_answer(worker):
    answered, failures, latencies = _run(worker, [GOOD])
    assert answered > 10 and not failures
    assert len(latencies) == answered and all(0 < x < 5 for x in latencies)


def test_an_error_status_is_not_an_answer(worker):
    answered, failures, latencies = _run(worker, [GOOD, BAD], connections=1)
    failed = failures["no message (an error status)"]
    assert answered > 5 and failed > 5 and abs(answered - failed) <= 1  # they alternate
    assert len(failures) == 1 and len(latencies) == answered + failed
    with pytest.raises(WireError, match="warm-up call failed: no message"):
        _run(worker, [BAD])


def test_open_loop_keeps_its_schedule(worker):
    answered, failures, _ = _run(worker, [GOOD], rate=200, seconds=0.5)
    assert not failures and 100 <= answered <= 101  # every planned call, however late


def test_max_calls_bounds_the_phase(worker):
    answered, failures, _ = _run(worker, [GOOD], max_calls=7, seconds=5)
    assert not failures and 7 <= answered <= 9  # at most one call in flight per connection


def test_flow_control_past_the_initial_windows(worker):
    """Batches of 35 KB, several in flight on one connection: more than the peer's
    initial 64 KB connection window, so sends wait for its WINDOW_UPDATEs."""
    batch = pb.CheckBatchRequest(checks=[_check("bob", "edit", "acme-po-1001")] * 500)
    big = batch.SerializeToString()
    assert len(big) > 32_768  # two fill the initial window
    answered, failures, _ = _run(worker, [big], CHECK_BATCH, connections=1, rate=300,
                                 seconds=0.5)
    assert not failures and 150 <= answered <= 151


def test_header_block_uses_only_static_entries_and_literals():
    block = header_block("/p.S/M", "127.0.0.1:1")
    assert block.startswith(b"\x83\x86\x14\x06/p.S/M")  # POST, http, never-indexed :path
    assert b"application/grpc" in block and b"trailers" in block
