"""Decision logs: masked, one line per decision, and never blocking a decision."""

from __future__ import annotations

import json
import threading
import time

from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp._generated.plainpdp.v1 import values_pb2 as vpb
from plainpdp.evaluate.decision import Decision, PolicyError
from plainpdp.sidecar.decision_log import MASK, DecisionLog, mask


def request(**context) -> pb.CheckRequest:
    return pb.CheckRequest(
        principal=vpb.EntityUid(type="User", id="a"),
        action=vpb.EntityUid(type="Action", id="view"),
        resource=vpb.EntityUid(type="Doc", id="d"),
        context=vpb.Record(fields=context),
    )


def test_mask_is_by_name_at_any_depth_and_leaves_escapes_alone():
    value = {"ssn": "123", "inner": {"ssn": 1, "ok": 2}, "list": [{"ssn": True}],
             "who": {"__entity": {"type": "User", "id": "ssn"}}}
    assert mask(value, frozenset({"ssn"})) == {
        "ssn": MASK, "inner": {"ssn": MASK, "ok": 2}, "list": [{"ssn": MASK}],
        "who": {"__entity": {"type": "User", "id": "ssn"}},
    }


def test_a_line_has_what_an_auditor_needs():
    out: list[bytes] = []
    log = DecisionLog(out.append, mask_fields=["token"])
    decision = Decision(True, frozenset({"p1"}), (PolicyError("p2", "oops"),), frozenset({"c1"}))
    log.submit("Check", request(token=vpb.Value(string_value="s3cr3t"),
                                n=vpb.Value(long_value=7)), decision, "v123")
    log.close()
    line = json.loads(b"".join(out))
    assert line["decision_id"] == decision.decision_id
    assert line["decision"] == "allow" and line["policy_version"] == "v123"
    assert line["reasons"] == ["p1"] and line["ceilings"] == ["c1"]
    assert line["errors"] == [{"policy_id": "p2", "message": "oops"}]
    assert line["request"]["context"] == {"token": MASK, "n": 7}
    assert line["request"]["principal"] == {"type": "User", "id": "a"}
    assert "s3cr3t" not in b"".join(out).decode()


def test_a_slow_sink_drops_and_counts_instead_of_blocking():
    gate = threading.Event()
    written: list[bytes] = []

    def slow_sink(data: bytes) -> None:
        gate.wait(10)
        written.append(data)

    dropped = []
    log = DecisionLog(slow_sink, queue_size=10, on_dropped=lambda: dropped.append(1))
    decision = Decision(False, frozenset())
    started = time.perf_counter()
    for _ in range(1000):
        log.submit("Check", request(), decision, "v")
    elapsed = time.perf_counter() - started
    assert elapsed < 0.5, f"submit blocked: {elapsed:.2f}s for 1000 lines"
    assert log.dropped >= 1000 - 10 - 512 - 1  # the queue plus at most one batch in the writer
    assert len(dropped) == log.dropped
    gate.set()
    log.close()
    lines = b"".join(written).decode().splitlines()
    assert len(lines) + log.dropped == 1000


def test_a_batch_is_one_entry_with_a_line_per_decision_in_order():
    out: list[bytes] = []
    log = DecisionLog(out.append, mask_fields=["token"])
    checks = [request(token=vpb.Value(string_value="s3cr3t")), request(n=vpb.Value(long_value=1)),
              request(token=vpb.Value(string_value="s3cr3t"))]
    decisions = [Decision(n % 2 == 0, frozenset({f"p{n}"})) for n in range(3)]
    log.submit_many("CheckBatch", checks, decisions, "v9")
    log.close()
    lines = [json.loads(x) for x in b"".join(out).decode().splitlines()]
    assert [x["decision_id"] for x in lines] == [d.decision_id for d in decisions]
    assert [x["decision"] for x in lines] == ["allow", "deny", "allow"]
    assert [x["reasons"] for x in lines] == [["p0"], ["p1"], ["p2"]]
    assert [x["request"]["context"] for x in lines] == [{"token": MASK}, {"n": 1}, {"token": MASK}]
    assert {x["method"] for x in lines} == {"CheckBatch"} and log.written == 3


def test_a_batch_that_does_not_fit_keeps_what_fits_and_counts_the_rest():
    gate = threading.Event()
    written: list[bytes] = []
    log = DecisionLog(lambda data: (gate.wait(10), written.append(data)), queue_size=4)
    decisions = [Decision(True, frozenset()) for _ in range(6)]
    log.submit_many("CheckBatch", [request()] * 6, decisions, "v")
    assert log.dropped == 2
    gate.set()
    log.close()
    lines = [json.loads(x) for x in b"".join(written).decode().splitlines()]
    assert [x["decision_id"] for x in lines] == [d.decision_id for d in decisions[:4]]


def test_an_unreadable_context_is_logged_as_such():
    out: list[bytes] = []
    log = DecisionLog(out.append)
    bad = request(x=vpb.Value())  # no kind set
    log.submit("Check", bad, Decision(False, frozenset()), "v")
    log.close()
    line = json.loads(b"".join(out))
    assert "no kind set" in line["request"]["unreadable"] and "context" not in line["request"]
