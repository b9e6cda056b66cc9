"""The files in sidecar/ say things that are true of this code."""

from __future__ import annotations

import re
import subprocess
import sys

from google.protobuf import json_format
from sidecar_support import ROOT, SERVICE

from plainpdp._generated.plainpdp.v1 import authorization_pb2 as pb
from plainpdp.sidecar.config import SidecarConfig

SIDECAR = ROOT / "sidecar"


def test_example_config_loads():
    config = SidecarConfig.load(SIDECAR / "plainpdp.toml")
    assert config.server.listen.startswith("127.0.0.1:")
    assert config.decision_log.mask_fields == ["source_ip"]


def test_kubernetes_manifest_parses_and_its_config_loads(tmp_path):
    import yaml
    docs = [d for d in yaml.safe_load_all((SIDECAR / "kubernetes.yaml").read_text()) if d]
    assert {d["kind"] for d in docs} == {"ConfigMap", "Deployment"}
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    path = tmp_path / "plainpdp.toml"
    path.write_text(config_map["data"]["plainpdp.toml"], encoding="utf-8")
    config = SidecarConfig.load(path)
    assert config.server.listen == "127.0.0.1:50051"
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    containers = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    probe = containers["plainpdp"]["readinessProbe"]["exec"]["command"]
    assert probe[-1] == SERVICE
    # every policy file of the example has a ConfigMap item
    volume = next(v for v in deployment["spec"]["template"]["spec"]["volumes"]
                  if v["name"] == "policies")
    paths = {item["path"] for item in volume["configMap"]["items"]}
    wanted = {p.relative_to(ROOT / "policies").as_posix()
              for p in (ROOT / "policies").rglob("*")
              if p.suffix in (".cedar", ".cedarschema") or p.name == "entities.json"}
    assert wanted <= paths


def test_guide_grpcurl_request_is_a_valid_check_request():
    text = (SIDECAR / "README.md").read_text(encoding="utf-8")
    bodies = re.findall(r"-d '(\{.*?\})' \S+ plainpdp\.v1\.AuthorizationService/Check", text)
    assert bodies
    request = json_format.Parse(bodies[0], pb.CheckRequest())
    assert request.principal.id == "bob" and request.context.fields["mfa"].bool_value is True


def test_healthcheck_script_against_a_real_sidecar(shared_sidecar):
    ok = subprocess.run([sys.executable, str(SIDECAR / "healthcheck.py"), shared_sidecar.target],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert "SERVING" in ok.stdout
    unknown = subprocess.run(
        [sys.executable, str(SIDECAR / "healthcheck.py"), shared_sidecar.target, "no.Such"],
        capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 1
