"""Stored data is never executed: gadgets that run a command when their writer's loader
reads them are decoded as data (their class and arguments shown), and nothing runs."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.core.decoders import decode_value
from inspector.core.values import ValueFormat


class Gadget:
    """``pickle.loads`` of this calls ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


def pickle_gadget(marker: Path, protocol: int) -> bytes:
    return pickle.dumps(
        {"_auth_user_id": "1", "evil": Gadget(f"touch {marker}")}, protocol=protocol
    )


# Ruby: an object whose class's marshal_load runs its data (the shape of the
# universal Marshal gadget chains: Marshal.load instantiates and calls into it).
RUBY_GADGET_DEFINITION = "class Evil; def marshal_load(command); system(command); end; end"


def ruby_gadget(marker: Path) -> bytes:
    command = f"touch {marker}".encode()
    return b'\x04\x08{\x06I"\x09evil\x06:\x06ETU:\x09Evil"' + bytes([len(command) + 5]) + command


# PHP: an object with a __destruct/__wakeup POP chain would run on unserialize().
PHP_GADGET = b'a:1:{s:4:"evil";O:7:"Monolog":1:{s:7:"command";s:18:"touch /tmp/php-pwn";}}'


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_gadget_is_shown_not_run(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "pwned"
    data = pickle_gadget(marker, protocol)
    decoded = decode_value(data)
    assert not marker.exists()
    assert decoded.format is ValueFormat.PICKLE
    assert isinstance(decoded.value, dict)
    evil = decoded.value["evil"]
    assert isinstance(evil, dict)
    assert evil["@class"] in ("posix.system", "nt.system", "os.system")
    assert evil["@data"] == [f"touch {marker}"]
    assert decoded.error is not None
    assert "never run" in decoded.error


def test_the_pickle_gadget_is_real(tmp_path: Path) -> None:
    # The same bytes given to pickle.loads (in a child process) do run the command.
    marker = tmp_path / "pwned"
    data = pickle_gadget(marker, pickle.HIGHEST_PROTOCOL)
    subprocess.run(
        [sys.executable, "-c", "import pickle,sys; pickle.loads(sys.stdin.buffer.read())"],
        input=data,
        check=True,
    )
    assert marker.exists()


def test_marshal_gadget_is_shown_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    decoded = decode_value(ruby_gadget(marker))
    assert not marker.exists()
    assert decoded.format is ValueFormat.MARSHAL
    assert decoded.value == {"evil": {"@class": "Evil", "@data": [f"touch {marker}"]}}


@pytest.mark.skipif(
    shutil.which("ruby") is None, reason="ruby is only needed to prove the gadget live"
)
def test_the_marshal_gadget_is_real(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    script = f"{RUBY_GADGET_DEFINITION}; Marshal.load($stdin.binmode.read)"
    subprocess.run(["ruby", "-e", script], input=ruby_gadget(marker), check=True)
    assert marker.exists()


def test_php_object_is_data() -> None:
    decoded = decode_value(PHP_GADGET)
    assert decoded.format is ValueFormat.PHP
    assert decoded.value == {"evil": {"@class": "Monolog", "command": "touch /tmp/php-pwn"}}


def test_decoders_import_no_class_from_the_data() -> None:
    # A pickle naming a module nobody has imported leaves it unimported.
    module = "xml.dom.minidom"
    code = (
        "import sys, pickletools\n"
        "from inspector.core.decoders import decode_value\n"
        f"data = b'\\x80\\x04c{module}\\nDocument\\n)R.'\n"
        "d = decode_value(data)\n"
        f"print(d.format.value, d.value['@class'], {module!r} in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["pickle", f"{module}.Document", "False"]
