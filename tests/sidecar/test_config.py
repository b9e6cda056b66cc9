"""The sidecar's configuration: file, flags, and errors that say what is wrong."""

from __future__ import annotations

import argparse

import pytest

from plainpdp.cli import serve
from plainpdp.sidecar.config import DEFAULT_GRPC_EXPERIMENTS, ConfigError, SidecarConfig


def test_defaults_bind_loopback_and_serve_policies():
    config = SidecarConfig()
    assert config.server.listen == "127.0.0.1:50051"
    assert config.policies.dir == "policies"
    assert config.server.workers == 1


def test_toml_file_overrides_defaults_and_paths_are_relative_to_it(tmp_path):
    path = tmp_path / "conf" / "plainpdp.toml"
    path.parent.mkdir()
    path.write_text(
        '[server]\nlisten = "127.0.0.1:6000"\nworkers = 3\n'
        '[policies]\ndir = "../pol"\n'
        '[decision_log]\nmask_fields = ["ssn"]\npath = "logs/d.jsonl"\n',
        encoding="utf-8",
    )
    config = SidecarConfig.load(path)
    assert config.server.listen == "127.0.0.1:6000" and config.server.workers == 3
    assert config.policies.dir == str(path.parent / "../pol")
    assert config.decision_log.mask_fields == ["ssn"]
    assert config.decision_log.path == str(path.parent / "logs/d.jsonl")


def test_yaml_file(tmp_path):
    path = tmp_path / "plainpdp.yaml"
    path.write_text("server:\n  listen: 127.0.0.1:6001\nmetrics:\n  listen: 127.0.0.1:6002\n",
                    encoding="utf-8")
    config = SidecarConfig.load(path)
    assert config.server.listen == "127.0.0.1:6001"
    assert config.metrics.listen == "127.0.0.1:6002"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server]\nlisen = '127.0.0.1:1'\n", "unknown key server.lisen"),
        ("[sever]\n", "unknown section [sever]"),
        ("[server]\nworkers = 'two'\n", "server.workers must be a integer"),
        ("[server]\nlisten = 'nowhere'\n", "not HOST:PORT"),
        ("[server]\nmax_batch = 0\n", "max_batch must be at least 1"),
        ("[server]\nthreads = 0\n", "threads must be at least 1"),
        ("[server\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_problem(tmp_path, text, message):
    path = tmp_path / "plainpdp.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SidecarConfig.load(path)


def test_flags_override_the_file(tmp_path):
    path = tmp_path / "plainpdp.toml"
    path.write_text('[server]\nlisten = "127.0.0.1:6000"\nworkers = 2\n', encoding="utf-8")
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args(["--config", str(path), "--listen", "127.0.0.1:7000",
                              "--decision-log", "", "--reload-interval", "0"])
    config = serve.build_config(args)
    assert config.server.listen == "127.0.0.1:7000"
    assert config.server.workers == 2
    assert config.decision_log.enabled is False
    assert config.policies.reload_interval_seconds == 0


def test_worker_config_travels_as_json():
    config = SidecarConfig()
    config.decision_log.mask_fields = ["a", "b"]
    config.server.workers = 4
    again = SidecarConfig.from_json(config.to_json())
    assert again == config


def test_grpc_experiments_go_to_the_environment_unless_it_has_them():
    config = SidecarConfig()
    env: dict = {}
    config.grpc_environment(env)
    assert env == {"GRPC_EXPERIMENTS": DEFAULT_GRPC_EXPERIMENTS}
    mine = {"GRPC_EXPERIMENTS": "event_engine_listener"}
    config.grpc_environment(mine)
    assert mine == {"GRPC_EXPERIMENTS": "event_engine_listener"}  # the operator's wins
    config.apply({"server": {"grpc_experiments": ""}}, origin="test")
    empty: dict = {}
    config.grpc_environment(empty)
    assert empty == {}  # "": gRPC's own defaults


@pytest.mark.parametrize("bad", ["event engine", "-x,", ",x", "--x", "x;rm"])
def test_malformed_grpc_experiments_are_refused(bad):
    config = SidecarConfig()
    config.apply({"server": {"grpc_experiments": bad}}, origin="test")
    with pytest.raises(ConfigError, match="server.grpc_experiments"):
        config.validate()
