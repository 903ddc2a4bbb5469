"""The one-click bundle's manifest and the MCP Registry's server.json say what the server is
today: the same version, settings that exist, a command that serves. (`mcpb validate` checks the
manifest against the MCPB schema in CI: scripts/bundle.sh.)"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from jsonschema import Draft7Validator

from core.config import Settings, env_name
from persona_mcp.extras import roleplay

ROOT = Path(__file__).resolve().parent.parent
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
VARIABLES = {env_name(field) for field in Settings.model_fields}


def test_server_json_validates_against_the_registry_schema() -> None:
    schema = json.loads((ROOT / "tests" / "data" / "server.schema.json").read_text())
    server = json.loads((ROOT / "server.json").read_text())
    Draft7Validator.check_schema(schema)
    errors = sorted(error.message for error in Draft7Validator(schema).iter_errors(server))
    assert errors == []
    assert server["version"] == VERSION
    (package,) = server["packages"]
    assert package["version"] == VERSION
    assert {variable["name"] for variable in package["environmentVariables"]} <= VARIABLES
    broken = dict(server, description="x" * 101)  # the schema does reject what it should
    assert list(Draft7Validator(schema).iter_errors(broken))


def test_the_bundle_manifest_matches_the_server() -> None:
    manifest = json.loads((ROOT / "manifest.json").read_text())
    assert manifest["version"] == VERSION
    config = manifest["server"]["mcp_config"]
    assert (ROOT / manifest["server"]["entry_point"]).is_file()
    assert (ROOT / manifest["icon"]).is_file()
    assert manifest["server"]["entry_point"] in config["args"]
    used = set(re.findall(r"\$\{user_config\.(\w+)\}", json.dumps(config)))
    assert used == set(manifest["user_config"])
    assert set(config["env"]) <= VARIABLES
    assert manifest["user_config"]["master_key"]["sensitive"] is True
    assert manifest["user_config"]["data_dir"]["type"] == "directory"
    (prompt,) = manifest["prompts"]
    assert prompt["name"] == "roleplay"
    assert set(prompt["arguments"]) == set(roleplay.__code__.co_varnames[1 : roleplay.__code__.co_argcount])
