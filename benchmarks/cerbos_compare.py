"""The Cerbos side of ``sidecar_load.py --cerbos PATH``.

Runs a Cerbos binary on loopback with the example portal's rules written
for Cerbos as scoped resource policies (``benchmarks/cerbos/policies``): the
platform's rules at the root of the scope chain, each partner's own rules in
a scope named after the partner, and the request's scope set to the
principal's partner. It checks that Cerbos gives the same decision as
plainpdp for every request of the workload, then puts it under the same
load. Cerbos is stateless: the caller sends the principal's roles and
attributes and the resource's attributes with every request, so they are
derived here from ``policies/entities.json`` once, before timing.

Cerbos's message types are read from the running server by gRPC
reflection, so no Cerbos client library is needed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CERBOS_POLICIES = HERE / "cerbos" / "policies"
CHECK = "/cerbos.svc.v1.CerbosService/CheckResources"
KINDS = ("document", "section", "folder")


def _entities() -> dict[tuple[str, str], dict]:
    data = json.loads((ROOT / "policies" / "entities.json").read_text(encoding="utf-8"))
    return {(e["uid"]["type"], e["uid"]["id"]): e for e in data}


def _ref(value) -> str:
    return value["__entity"]["id"] if isinstance(value, dict) and "__entity" in value else ""


def principal_facts(entities: dict, user: str, mfa: bool) -> tuple[list[str], dict]:
    e = entities[("User", user)]
    partner = _ref(e["attrs"].get("partner"))
    p_attrs = entities[("Partner", partner)]["attrs"] if partner else {}
    roles = ["user"] + [p["id"] for p in e["parents"] if p["type"] in ("Role", "PlatformRole")]
    attrs = {
        "partner": partner,
        "partner_kind": p_attrs.get("kind", ""),
        "partner_tier": p_attrs.get("tier", ""),
        "partner_suspended": bool(p_attrs.get("suspended", False)),
        "active": bool(e["attrs"]["active"]),
        "region": e["attrs"].get("region", ""),
        "mfa": mfa,
    }
    return roles, attrs


def resource_facts(entities: dict, rtype: str, rid: str) -> dict:
    e = entities[(rtype, rid)]
    parents = e["parents"]
    if rtype == "Document":
        partner = _ref(e["attrs"].get("partner"))
    else:
        partner = next((p["id"] for p in parents if p["type"] == "Partner"), "")
    sections = [p["id"] for p in parents if p["type"] == "Section"]
    if rtype == "Section":
        sections.append(rid)
    return {
        "partner": partner,
        "sections": sections,
        "sensitivity": e["attrs"].get("sensitivity", ""),
        "region": e["attrs"].get("region", ""),
    }


class CerbosMessages:
    """Cerbos's request/response classes, read from the server by reflection."""

    def __init__(self, target: str):
        import grpc
        from google.protobuf import descriptor_pool, message_factory
        from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
            ProtoReflectionDescriptorDatabase,
        )

        self._channel = grpc.insecure_channel(target)
        pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(self._channel))
        get = lambda name: message_factory.GetMessageClass(pool.FindMessageTypeByName(name))  # noqa: E731
        self.Request = get("cerbos.request.v1.CheckResourcesRequest")
        self.Response = get("cerbos.response.v1.CheckResourcesResponse")
        self.Principal = get("cerbos.engine.v1.Principal")
        self.Resource = get("cerbos.engine.v1.Resource")
        self.Entry = get("cerbos.request.v1.CheckResourcesRequest.ResourceEntry")
        self.Value = get("google.protobuf.Value")
        self.ListValue = get("google.protobuf.ListValue")
        self.ALLOW = pool.FindEnumTypeByName("cerbos.effect.v1.Effect").values_by_name[
            "EFFECT_ALLOW"].number

    def value(self, v):
        if isinstance(v, bool):
            return self.Value(bool_value=v)
        if isinstance(v, str):
            return self.Value(string_value=v)
        if isinstance(v, list):
            return self.Value(list_value=self.ListValue(values=[self.value(x) for x in v]))
        raise TypeError(v)

    def request(self, entities: dict, principal: str, mfa: bool,
                checks: list[tuple[str, tuple[str, str]]], request_id: str):
        roles, p_attrs = principal_facts(entities, principal, mfa)
        return self.Request(
            request_id=request_id,
            principal=self.Principal(id=principal, roles=roles,
                                     attr={k: self.value(v) for k, v in p_attrs.items()}),
            resources=[
                self.Entry(actions=[action], resource=self.Resource(
                    kind=rtype.lower(), id=rid, scope=p_attrs["partner"],
                    attr={k: self.value(v)
                          for k, v in resource_facts(entities, rtype, rid).items()}))
                for action, (rtype, rid) in checks
            ],
        )

    def close(self) -> None:
        self._channel.close()


def cross_check(msgs: CerbosMessages, target: str, entities: dict, items: list[dict]) -> tuple:
    """Every workload request through Cerbos and through the plainpdp engine."""
    import grpc

    from plainpdp import Engine
    from plainpdp.project import load_project

    project = load_project(ROOT / "policies")
    engine = Engine(project.policies, entities=project.entities, schema=project.schema)
    groups: dict[tuple[str, bool], list[dict]] = defaultdict(list)
    for it in items:
        groups[(it["principal"][1], it["mfa"])].append(it)
    mismatches = []
    allows = 0
    with grpc.insecure_channel(target) as ch:
        call = ch.unary_unary(CHECK, request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=msgs.Response.FromString)
        for (user, mfa), group in groups.items():
            for start in range(0, len(group), 50):
                chunk = group[start:start + 50]
                checks = [(it["action"], it["resource"]) for it in chunk]
                response = call(msgs.request(entities, user, mfa, checks, "xcheck"), timeout=30)
                for it, result in zip(chunk, response.results, strict=True):
                    cerbos_allow = result.actions[it["action"]] == msgs.ALLOW
                    ours = engine.is_authorized(
                        f'User::"{user}"', f'Action::"{it["action"]}"',
                        f'{it["resource"][0]}::"{it["resource"][1]}"', {"mfa": mfa})
                    allows += ours.allowed
                    if cerbos_allow != ours.allowed:
                        mismatches.append((user, it["action"], it["resource"], mfa,
                                           ours.decision, sorted(ours.reasons)))
    return mismatches, allows


def start_cerbos(args, items, Server, Target, free_port) -> tuple:
    """Cerbos SERVING on loopback, cross-checked; (its Target, a function that stops it)."""
    binary = Path(args.cerbos)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cerbos-"))
    policies = tmp / "policies"
    # one copy of each resource policy per kind: only `resource:` differs
    for f in sorted(CERBOS_POLICIES.rglob("*.yaml")):
        text = f.read_text(encoding="utf-8")
        name = "-".join(f.relative_to(CERBOS_POLICIES).with_suffix("").parts)
        kinds = KINDS if "  resource: document\n" in text else KINDS[:1]
        for kind in kinds:
            out = policies / f"{name}-{kind}.yaml"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text.replace("  resource: document\n", f"  resource: {kind}\n"),
                           encoding="utf-8")
    grpc_port, http_port = free_port(), free_port()
    (tmp / "cerbos.yaml").write_text(
        f"""server:
  httpListenAddr: "127.0.0.1:{http_port}"
  grpcListenAddr: "127.0.0.1:{grpc_port}"
storage:
  driver: disk
  disk:
    directory: {policies}
    watchForChanges: false
audit:
  enabled: false
telemetry:
  disabled: true
""",
        encoding="utf-8",
    )
    target = f"127.0.0.1:{grpc_port}"
    env = {**os.environ, "CERBOS_NO_TELEMETRY": "1"}
    server = Server([str(binary), "server", f"--config={tmp / 'cerbos.yaml'}",
                     "--log-level=warn"], target, "cerbos.svc.v1.CerbosService", cwd=tmp, env=env)

    def stop() -> None:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    try:
        msgs = CerbosMessages(target)
        entities = _entities()
        mismatches, allows = cross_check(msgs, target, entities, items)
        print(f"cerbos cross-check: {len(items)} requests, {allows} allowed by plainpdp, "
              f"{len(mismatches)} decisions differ", flush=True)
        for m in mismatches[:10]:
            print("  differs:", m, flush=True)
        if mismatches:
            raise SystemExit("Cerbos and plainpdp disagree: the comparison would be meaningless")
        singles = [msgs.request(entities, it["principal"][1], it["mfa"],
                                [(it["action"], it["resource"])], "b").SerializeToString()
                   for it in items]
        from sidecar_load import batch_groups  # the same batches plainpdp gets

        batches = [msgs.request(entities, group[0]["principal"][1], group[0]["mfa"],
                                [(it["action"], it["resource"]) for it in group],
                                "b").SerializeToString()
                   for group in batch_groups(items, args.batch)]
        msgs.close()
    except BaseException:
        stop()
        raise
    return Target("cerbos", server, CHECK, singles, CHECK, batches), stop
