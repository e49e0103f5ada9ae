"""--limit selection (select.select) on tests/data/render: hosts r1 r2 c1 web1 web2 web3 f1;
groups core (r2, and r1 through its child group edge), edge (r1), servers (web1, web2),
dmz (web2, web3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loopbackctl import inventory
from loopbackctl.errors import UsageError
from loopbackctl.select import pick, select

INV, _ = inventory.load(str(Path(__file__).parent / "data" / "render"))


def test_no_limit_is_every_host_in_inventory_order() -> None:
    assert select(INV, None) == ["r1", "r2", "c1", "web1", "web2", "web3", "f1"]


@pytest.mark.parametrize(
    ("pattern", "hosts"),
    [
        ("web3", ["web3"]),
        ("web3,r1", ["r1", "web3"]),
        ("web3:r1", ["r1", "web3"]),
        ("r1,r1", ["r1"]),
        ("core", ["r1", "r2"]),
        ("edge", ["r1"]),
        ("dmz,servers", ["web1", "web2", "web3"]),
        ("all", ["r1", "r2", "c1", "web1", "web2", "web3", "f1"]),
        ("*", ["r1", "r2", "c1", "web1", "web2", "web3", "f1"]),
        ("web[13]", ["web1", "web3"]),
        ("*2", ["r2", "web2"]),
        ("s*", ["web1", "web2"]),  # a glob over group names: servers
        ("~web", ["web1", "web2", "web3"]),
        ("~^r", ["r1", "r2"]),
        ("!web1", ["r1", "r2", "c1", "web2", "web3", "f1"]),
        ("!core,!dmz", ["c1", "web1", "f1"]),
        ("web*,!dmz", ["web1"]),
        ("core,web1,!r1", ["r2", "web1"]),
        ("servers,&dmz", ["web2"]),
        ("*,&web*,!web2", ["web1", "web3"]),
    ],
)
def test_patterns(pattern: str, hosts: list[str]) -> None:
    assert select(INV, pattern) == hosts


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("web4", "'web4' is neither a host nor a group; did you mean 'web3'?"),
        ("dmx", "'dmx' is neither a host nor a group; did you mean 'dmz'?"),
        ("r1,!rr1", "'rr1' is neither a host nor a group; did you mean 'r1'?"),  # typo'd exclude
        ("nothing*", "matches no host"),
        ("r1,!r1", "matches no host"),
        ("&", "needs a host, group or glob after it"),
        (" , ", "names no host"),
        ("~(", "bad regular expression"),
    ],
)
def test_errors(pattern: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace("?", r"\?")):
        select(INV, pattern)


def test_pick_separates_managed_from_skipped_and_knows_what_was_named(tmp_path: Path) -> None:
    (tmp_path / "hosts.yaml").write_text(
        "r1:\n  platform: ios\n  groups: [wan]\nmx1:\n  platform: junos\n  groups: [wan]\n"
        "mx2:\n  platform: junos\n"
    )
    (tmp_path / "groups.yaml").write_text("wan: {}\n")
    inv, _ = inventory.load(str(tmp_path))
    assert select(inv, None) == ["r1", "mx1", "mx2"]
    chosen = pick(inv, "wan")
    assert [h.name for h in chosen.hosts] == ["r1"]
    assert [u.name for u in chosen.skipped] == ["mx1"] and chosen.named == frozenset()
    chosen = pick(inv, "mx*,mx2,r1,!mx1")
    assert [u.name for u in chosen.skipped] == ["mx2"] and chosen.named == {"mx2", "r1"}
    with pytest.raises(UsageError, match=r"did you mean 'mx[12]'"):
        pick(inv, "mx3")
