"""Dockerfile and compose.yaml (no Docker engine runs here, so they are checked statically):
the files they copy exist, the `formc serve` commands they run parse with formc's own CLI, and
the endpoints/credentials files they mount are accepted by formc serve's readers."""
from __future__ import annotations

import os
import re
import shlex

import yaml

from formc.cli import build_parser
from formc.reader.deploy import read_credentials, read_deployment
from support.shared_paths import ROOT


def _dockerfile() -> str:
    with open(os.path.join(ROOT, "Dockerfile"), encoding="utf-8") as f:
        return f.read().replace("\\\n", " ")


def test_dockerfile_copies_existing_files_and_runs_a_valid_serve_command():
    text = _dockerfile()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", text, re.M))
    for line in re.findall(r"^COPY (.+)$", text, re.M):
        *sources, _dest = shlex.split(line)
        for src in sources:
            src = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], src)
            assert os.path.exists(os.path.join(ROOT, src)), src
    cmd = eval_json_list(re.search(r"^CMD (\[.+\])$", text, re.M).group(1))
    assert cmd[:2] == ["formc", "serve"]
    parsed = build_parser().parse_args(cmd[1:])
    assert parsed.host == "0.0.0.0" and parsed.port == 5005
    read_credentials(os.path.join(ROOT, "deploy", "credentials.yml"))
    read_deployment(os.path.join(ROOT, "deploy", "endpoints.yml"))


def eval_json_list(text: str) -> list:
    import json
    return json.loads(text)


def test_compose_runs_formc_an_action_server_and_redis():
    with open(os.path.join(ROOT, "compose.yaml"), encoding="utf-8") as f:
        compose = yaml.safe_load(f)
    services = compose["services"]
    assert set(services) == {"formc", "action-server", "redis"}
    formc = services["formc"]
    parsed = build_parser().parse_args(formc["command"][1:])
    assert parsed.store is None                       # the store comes from endpoints.yml
    mount = formc["volumes"][0].split(":")
    deployment = read_deployment(os.path.join(ROOT, mount[0]))
    assert deployment.store_url == "redis://redis:6379/0?key_prefix=formc&record_exp=604800"
    assert services["action-server"]["image"].startswith("rasa/rasa-sdk:3.6")
