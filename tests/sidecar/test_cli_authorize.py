"""``plainpdp authorize --sidecar``: the same answer from a running sidecar as in-process."""

from __future__ import annotations

import json

from sidecar_support import free_port

from plainpdp.cli import main

ERIN_CREATES = ["--principal", 'User::"erin"', "--action", 'Action::"create"',
                "--resource", 'Document::"northwind-po-3001"']


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sidecar_and_in_process_give_the_same_decision(capsys, shared_sidecar):
    cross_partner = [*ERIN_CREATES[:4], "--resource", 'Document::"acme-po-1001"']
    for request, want_code in ((ERIN_CREATES, 0), (cross_partner, 1)):
        args = [*request, "--context", '{"mfa": true}', "--json"]
        code, remote, _ = _run(capsys, "authorize", "--sidecar", shared_sidecar.target, *args)
        local_code, local, _ = _run(capsys, "authorize", *args)
        assert (code, local_code) == (want_code, want_code)
        strip = lambda d: {k: v for k, v in d.items() if k != "decision_id"}  # noqa: E731
        assert strip(json.loads(remote)) == strip(json.loads(local))


def test_sidecar_explains_when_asked(capsys, shared_sidecar):
    code, out, _ = _run(capsys, "authorize", "--sidecar", shared_sidecar.target,
                        *ERIN_CREATES, "--context", '{"mfa": true}', "--explain")
    assert code == 0
    assert "northwind-buyers-orders" in out and "ceiling-distributor" in out


def test_bad_input_through_the_sidecar_is_exit_2_without_traceback(capsys, shared_sidecar):
    code, out, err = _run(capsys, "authorize", "--sidecar", shared_sidecar.target,
                          "--principal", 'User::"erin"', "--action", 'Action::"create"',
                          "--resource", 'Nope::"x"')
    assert code == 2 and out == ""
    assert "entity type `Nope` is not in the schema" in err
    assert "Traceback" not in err


def test_no_sidecar_listening_is_exit_2_and_says_so(capsys):
    code, out, err = _run(capsys, "authorize", "--sidecar", f"127.0.0.1:{free_port()}",
                          *ERIN_CREATES)
    assert code == 2 and out == ""
    assert "sidecar unavailable" in err
