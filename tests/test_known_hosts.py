"""known_hosts read incrementally (hostkeys.KnownHosts): appended lines are seen without
reading the file again, and every other change (a new file, a shorter one, one rewritten
in place, a last line without its newline, hashed names) still reads right. The file
formats are OpenSSH's, made by its own ssh-keygen where it has a command for it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import paramiko
import pytest

from loopbackctl.transport.hostkeys import KnownHosts


def _line(name: str, key: paramiko.PKey) -> str:
    return f"{name} {key.get_name()} {key.get_base64()}\n"


@pytest.fixture
def keys() -> list[paramiko.PKey]:
    return [paramiko.ECDSAKey.generate() for _ in range(3)]


def _b64(kh: KnownHosts, name: str) -> list[str]:
    return [b64 for _, b64 in kh.lookup(name)]


def test_appended_lines_are_read_without_reading_the_file_again(
    tmp_path: Path, keys: list[paramiko.PKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "known_hosts"
    path.write_text("".join(_line(f"198.18.1.{i}", keys[0]) for i in range(1, 201)))
    size = path.stat().st_size
    kh = KnownHosts(str(path))
    assert _b64(kh, "198.18.1.7") == [keys[0].get_base64()]
    reads: list[int] = []
    real = KnownHosts._read_from

    def counting(self: KnownHosts, offset: int) -> bytes | None:
        reads.append(offset)
        return real(self, offset)

    monkeypatch.setattr(KnownHosts, "_read_from", counting)
    with path.open("a") as f:  # another process (ssh, a shard) appends
        f.write(_line("198.18.0.2", keys[1]))
    assert _b64(kh, "198.18.0.2") == [keys[1].get_base64()]
    assert _b64(kh, "198.18.1.7") == [keys[0].get_base64()]
    kh.add("198.18.0.3", keys[2])  # our own append
    assert _b64(kh, "198.18.0.3") == [keys[2].get_base64()]
    assert _b64(kh, "198.18.1.200") == [keys[0].get_base64()]
    assert reads and all(offset > size - 300 for offset in reads), reads  # only the end
    assert path.read_text().splitlines()[-2:] == [
        _line("198.18.0.2", keys[1]).rstrip(),
        _line("198.18.0.3", keys[2]).rstrip(),
    ]


def test_a_replaced_file_is_read_whole(tmp_path: Path, keys: list[paramiko.PKey]) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(_line("198.18.0.1", keys[0]) + _line("198.18.0.2", keys[1]))
    kh = KnownHosts(str(path))
    assert _b64(kh, "198.18.0.1")
    res = subprocess.run(
        ["ssh-keygen", "-R", "198.18.0.1", "-f", str(path)], capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert _b64(kh, "198.18.0.1") == []
    assert _b64(kh, "198.18.0.2") == [keys[1].get_base64()]


def test_a_file_rewritten_in_place_or_shortened_is_read_whole(
    tmp_path: Path, keys: list[paramiko.PKey]
) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(_line("198.18.0.1", keys[0]) + _line("198.18.0.2", keys[1]))
    kh = KnownHosts(str(path))
    assert _b64(kh, "198.18.0.2")
    inode = path.stat().st_ino
    with path.open("r+") as f:  # same inode, longer, the old last line moved
        f.write(_line("198.18.0.9", keys[2]) + _line("198.18.0.1", keys[0]) + "# more\n")
    assert path.stat().st_ino == inode
    assert _b64(kh, "198.18.0.2") == []
    assert _b64(kh, "198.18.0.9") == [keys[2].get_base64()]
    with path.open("r+") as f:  # same inode, shorter
        f.truncate(0)
        f.write(_line("198.18.0.2", keys[1]))
    assert _b64(kh, "198.18.0.9") == []
    assert _b64(kh, "198.18.0.2") == [keys[1].get_base64()]
    path.unlink()
    assert _b64(kh, "198.18.0.2") == []
    path.write_text(_line("198.18.0.2", keys[0]))
    assert _b64(kh, "198.18.0.2") == [keys[0].get_base64()]


def test_a_last_line_without_its_newline(tmp_path: Path, keys: list[paramiko.PKey]) -> None:
    path = tmp_path / "known_hosts"
    path.write_text(_line("198.18.0.1", keys[0]) + _line("198.18.0.2", keys[1]).rstrip("\n"))
    kh = KnownHosts(str(path))
    assert _b64(kh, "198.18.0.2") == [keys[1].get_base64()]
    kh.add("198.18.0.3", keys[2])  # must not glue itself to that line
    assert _b64(kh, "198.18.0.2") == [keys[1].get_base64()]
    assert _b64(kh, "198.18.0.3") == [keys[2].get_base64()]
    assert len(path.read_text().splitlines()) == 3
    assert KnownHosts(str(path)).lookup("198.18.0.2") == kh.lookup("198.18.0.2")


def test_hashed_names_as_ssh_keygen_writes_them(tmp_path: Path, keys: list[paramiko.PKey]) -> None:
    path = tmp_path / "known_hosts"
    names = ["198.18.0.1", "[198.18.0.2]:2222", "r3.example.net"]
    path.write_text("".join(_line(n, k) for n, k in zip(names, keys, strict=True)))
    res = subprocess.run(["ssh-keygen", "-H", "-f", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert all(line.startswith("|1|") for line in path.read_text().splitlines())
    with path.open("a") as f:  # not base64: skipped, as paramiko skips it
        f.write(f"|1|not base64!|x= {keys[0].get_name()} {keys[0].get_base64()}\n")
    kh = KnownHosts(str(path))
    for name, key in zip(names, keys, strict=True):
        assert _b64(kh, name) == [key.get_base64()]
    assert kh.lookup("198.18.0.9") == []
