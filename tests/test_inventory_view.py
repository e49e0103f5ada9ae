"""`loopbackctl inventory`: every value with where it comes from.

Each value's FILE:LINE:COL points at that value in that file; the SSH connection it
shows is the one transport.credentials builds (for every managed host of the corpus and
the examples, with and without the environment); secrets never appear; the command's
options (--host, --limit, --format) behave.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from loopbackctl import inventory, management
from loopbackctl.cli import main
from loopbackctl.inventory import yamlsrc
from loopbackctl.inventory.view import SECRET, Value
from loopbackctl.transport import credentials

HERE = Path(__file__).resolve().parent
LOCATIONS = [
    HERE.parent / "inventory",
    HERE / "data" / "nornir",
    *sorted(p for p in (HERE / "data" / "nornir-corpus").iterdir() if p.is_dir()),
]
ENVS = [
    {},
    {
        "LOOPBACKCTL_PASSWORD": "env-pass",
        "LOOPBACKCTL_SECRET": "env-secret",
        "LOOPBACKCTL_SSH_KEY": "~/.ssh/env_key",
        "SSH_AUTH_SOCK": "/tmp/agent.sock",
    },
    {"LOOPBACKCTL_PASSWORD": "env-pass"},
]


def every_value(view: Any) -> list[tuple[str, Value]]:
    out = [(k, v) for k, v in view.fields.items()]
    out += [(k, v) for k, v in view.data.items()]
    for params in view.connection_options.values():
        out += list(params.items())
    out += list((view.connection or {}).items())
    return out


def read_at(written: str) -> Any:
    """The scalar YAML reads from `written` (the rest of a line, from a value's mark)."""
    diags: list[Any] = []
    doc = yamlsrc.load("x.yaml", f"v: {written}\n".encode(), diags)
    return doc.data["v"] if doc is not None and not diags else None


@pytest.mark.parametrize("location", LOCATIONS, ids=lambda p: p.name)
def test_each_value_is_written_where_it_says(location: Path) -> None:
    inv, _, explainer = inventory.explain(str(location))
    checked = 0
    for view in explainer.views(list(inv.names), {}):
        for key, v in every_value(view):
            if v.at is None:
                assert v.source in (None, "default") or v.source.startswith(("environment", "the "))
                continue
            file, line, col = v.at.rsplit(":", 2)
            text = Path(file).read_text(encoding="utf-8").splitlines()[int(line) - 1]
            written = text[int(col) - 1 :]
            scalar = isinstance(v.value, str | int | float) and v.value != SECRET
            if key == "device_type" or not scalar or written.startswith(("*", "<<", "|", ">")):
                continue  # the platform that drives it as written; an alias; a block
            found = read_at(written)
            # The SSH port is a number even where it is written as text ("22").
            assert found == v.value or (key == "port" and found == str(v.value)), (key, v)
            checked += 1
    assert checked > 5


@pytest.mark.parametrize("env", ENVS, ids=["no-env", "full-env", "password-env"])
def test_the_ssh_connection_shown_is_the_one_used(env: dict[str, str]) -> None:
    compared = 0
    for location in LOCATIONS:
        inv, _, explainer = inventory.explain(str(location))
        for host, view in zip(
            inv.hosts.values(), explainer.views(list(inv.hosts), env), strict=True
        ):
            conn = view.connection
            assert conn is not None and view.managed
            creds = credentials.resolve(host, env)
            key_file = conn["key_file"].value
            assert (
                conn["hostname"].value,
                conn["port"].value,
                conn["username"].value,
                conn["password"].value,
                os.path.expanduser(key_file) if key_file else None,
                conn["secret"].value,
                conn["allow_agent"].value,
                conn["device_type"].value,
                conn["management_address"].value,
            ) == (
                creds.hostname,
                creds.port,
                creds.username,
                SECRET if creds.password else None,
                creds.key_file,
                SECRET if creds.secret else None,
                creds.allow_agent,
                host.platform,
                management.reconnect_to(host),
            ), (location.name, host.name)
            compared += 1
    assert compared > 30


def test_where_values_come_from_in_the_rich_inventory() -> None:
    _, _, explainer = inventory.explain(str(HERE / "data" / "nornir"))
    (r4,) = explainer.views(["r4"], {"LOOPBACKCTL_PASSWORD": "pw"})
    assert (r4.fields["port"].value, r4.fields["port"].source) == (2222, "group dmz")
    assert r4.data["tier"].source == "group core" and r4.data["owner"].source == "defaults"
    assert r4.connection_options["netmiko"]["port"].source == "defaults"
    assert r4.connection is not None
    assert (r4.connection["password"].value, r4.connection["password"].source) == (
        SECRET,
        "environment LOOPBACKCTL_PASSWORD",
    )
    assert r4.extended_groups == ("core", "region-eu", "global", "dmz")
    (web2,) = explainer.views(["web2"], {})
    assert web2.connection is not None and web2.connection["hostname"].source == "host web2"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    lab = HERE / "data" / "nornir-corpus" / "multivendor_lab"
    rc, out, _ = run(
        ["inventory", "-i", str(lab), "--host", "junos-r3", "--format", "json"], capsys
    )
    doc = json.loads(out)
    assert rc == 0 and doc["name"] == "junos-r3" and not doc["managed"]
    assert doc["reason"] == "platform 'juniper_junos' is not one loopbackctl drives"
    assert doc["connection"] is None and doc["fields"]["platform"]["from"] == "group junos"
    rc, out, _ = run(["inventory", "-i", str(lab), "--limit", "ios", "--format", "yaml"], capsys)
    doc = yaml.safe_load(out)
    assert rc == 0 and [h["name"] for h in doc["hosts"]] == ["ios-r1", "ios-r2"]
    assert doc["summary"] == {"hosts": 2, "managed": 2, "not_managed": 0}
    rc, out, _ = run(["inventory", "-i", str(lab), "--host", "srv1"], capsys)
    assert rc == 0 and out.startswith("srv1  (managed: linux; groups: linux, lab;")
    assert "data.environment" in out and "group lab" in out and "groups.yaml:3:" in out
    rc, _, err = run(["inventory", "-i", str(lab), "--host", "ios-r9"], capsys)
    assert rc == 2 and "no such host" in err and "did you mean" in err


def secret_values(value: Any, key: str = "") -> list[Any]:
    """Every value under a key named password, secret or enable_password."""
    if isinstance(value, dict):
        if "value" in value and "from" in value and key in ("password", "secret"):
            return [value["value"]]
        return [v for k, sub in value.items() for v in secret_values(sub, k)]
    if isinstance(value, list):
        return [v for sub in value for v in secret_values(sub, key)]
    return [value] if key in ("password", "secret", "enable_password") else []


def test_secrets_never_appear(capsys: pytest.CaptureFixture[str]) -> None:
    case = HERE / "data" / "nornir-corpus"
    found = 0
    for location in sorted(p for p in case.iterdir() if p.is_dir()):
        for fmt in ("table", "json", "yaml"):
            rc, out, _ = run(["inventory", "-i", str(location), "--format", fmt], capsys)
            assert rc == 0
            for secret in ("NokiaSrl1!", "changeme", "s3cr3t", "enable\n"):
                assert secret not in out, (location, secret)
            if fmt == "json":
                values = secret_values(json.loads(out))
                assert set(values) <= {SECRET, None}, location
                found += values.count(SECRET)
    assert found > 20


def test_management_address_is_shown_where_it_is_written(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(
        "h1:\n"
        "  hostname: 198.18.5.1\n"
        "  platform: linux\n"
        "  data:\n"
        "    management_address: 198.18.5.9\n"
        "h2:\n"
        "  hostname: 198.18.5.2\n"
        "  platform: linux\n"
    )
    _, _, explainer = inventory.explain(str(tmp_path))
    h1, h2 = explainer.views(["h1", "h2"], {})
    assert h1.connection is not None and h2.connection is not None
    m = h1.connection["management_address"]
    assert (m.value, m.source, m.at) == ("198.18.5.9", "host h1", f"{tmp_path}/hosts.yaml:5:25")
    assert h2.connection["management_address"] == h2.connection["hostname"]
