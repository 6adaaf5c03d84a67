"""A private network behind a real OpenSSH bastion, for the ``--ssh`` tests.

The topology (created and removed by the tests, names unique per run):

* a network namespace ``rsi-<pid>-<hex>`` with its own loopback, joined to the
  test's namespace by a veth pair (``10.213.X.Y/30``: the test's side ``.1``,
  the namespace's side ``.2``);
* inside it, redis-servers on the namespace's own 127.0.0.1 (unreachable from
  the test process: a different loopback) and ``sshd`` processes listening on
  the namespace's veth address (the only thing the test process can reach);
* ``/etc/netns/<name>/`` holds the files ``ip netns exec`` mounts over
  ``/etc`` for the programs started there: ``hosts`` (``redis.internal`` and the
  cluster's node names resolve only inside), and ``passwd``/``shadow``/``group``
  with the test user ``inspector`` (no change to the machine's own users).

:meth:`Namespace.run` runs Python code inside the namespace (a worker thread
that joined it with ``setns``), so the ordinary harness
(:mod:`tests.harness`) starts servers there and its clients talk to them.
Everything waits on conditions with deadlines, never on sleeps.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ParamSpec, TypeVar

__all__ = [
    "SSHD",
    "Namespace",
    "SSHServer",
    "SSHUser",
    "create_namespace",
    "netns_unavailable",
    "ssh_flags",
]

SSHD = "/usr/sbin/sshd"
USER = "inspector"
USER_PASSWORD = "bastion-pass"  # the test user's password inside the namespace
KEY_PASSPHRASE = "key-pass"
_UID = 4242
_CLONE_NEWNET = 0x40000000
_NETNS_DIR = Path("/run/netns")
_ETC_NETNS = Path("/etc/netns")
_PREFIX = "rsi-"

_P = ParamSpec("_P")
_T = TypeVar("_T")


class NetnsError(RuntimeError):
    """The namespace, the veth pair or sshd could not be set up."""


def _run(*argv: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        raise NetnsError(
            f"`{' '.join(argv)}` failed ({result.returncode}): {result.stderr.strip()}"
        )
    return result.stdout


def netns_unavailable() -> str | None:
    """Why the namespace topology cannot be built here (a skip reason), or ``None``."""
    if os.geteuid() != 0:
        return "needs root: the --ssh tests build a network namespace (ip netns add)"
    if shutil.which("ip") is None:
        return "needs the `ip` command (iproute2) for network namespaces"
    if not Path(SSHD).is_file():
        return f"needs OpenSSH's server at {SSHD} (apt-get install openssh-server; make test does)"
    name = f"{_PREFIX}probe-{os.getpid()}"
    try:
        _run("ip", "netns", "add", name)
    except NetnsError as exc:
        return f"network namespaces are not available here: {exc}"
    with contextlib.suppress(NetnsError):
        _run("ip", "netns", "del", name)
    return None


def _enter_netns(path: str) -> None:
    """Move the calling thread into a network namespace (Linux: per thread)."""
    libc = ctypes.CDLL(None, use_errno=True)
    descriptor = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(descriptor, _CLONE_NEWNET) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    finally:
        os.close(descriptor)


def _remove_leftovers() -> None:
    """Namespaces (and their /etc files) left by runs whose process died."""
    for path in [*_NETNS_DIR.glob(f"{_PREFIX}*"), *_ETC_NETNS.glob(f"{_PREFIX}*")]:
        match = re.fullmatch(rf"{_PREFIX}(\d+)-\w+", path.name)
        if match is None or Path(f"/proc/{match.group(1)}").exists():
            continue
        if path.parent == _NETNS_DIR:
            with contextlib.suppress(NetnsError):
                _run("ip", "netns", "del", path.name)
        else:
            shutil.rmtree(path, ignore_errors=True)


def _free_subnet() -> tuple[str, str]:
    """A /30 in 10.213.0.0/16 that no interface of this machine uses."""
    used = _run("ip", "-4", "-o", "addr", "show")
    for _ in range(200):
        third, fourth = secrets.randbelow(256), secrets.randbelow(64) * 4
        prefix = f"10.213.{third}."
        if not any(f"inet {prefix}{fourth + i}/" in used for i in range(4)):
            return f"{prefix}{fourth + 1}", f"{prefix}{fourth + 2}"
    raise NetnsError("no free /30 in 10.213.0.0/16")


class Namespace:
    """A network namespace with a veth link to the test's namespace (see module doc)."""

    def __init__(self, name: str, host_addr: str, ns_addr: str, veth: str) -> None:
        self.name = name
        self.host_addr = host_addr
        """The test's end of the veth pair."""
        self.ns_addr = ns_addr
        """The namespace's end: the only address of it the test process can reach."""
        self._veth = veth
        self.etc = _ETC_NETNS / name
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix=f"netns-{name}",
            initializer=_enter_netns,
            initargs=(str(_NETNS_DIR / name),),
        )

    def run(self, function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        """Run ``function`` inside the namespace (its sockets and child processes live there)."""
        return self._executor.submit(function, *args, **kwargs).result()

    def command(self, *argv: str) -> list[str]:
        """``argv`` run inside the namespace, with its /etc files (hosts, users) mounted."""
        return ["ip", "netns", "exec", self.name, *argv]

    def close(self) -> None:
        """Remove the namespace (and so the veth pair) and its /etc files."""
        self._executor.shutdown(wait=True)
        with contextlib.suppress(NetnsError):
            _run("ip", "netns", "del", self.name)
        with contextlib.suppress(NetnsError):
            _run("ip", "link", "del", self._veth)  # already gone with the namespace, normally
        shutil.rmtree(self.etc, ignore_errors=True)


def create_namespace(hosts: Iterable[str], home: Path) -> Namespace:
    """Create the namespace, its veth link, its hosts file and its user database.

    Args:
        hosts: Names that resolve to 127.0.0.1 inside the namespace only.
        home: The test user's home directory (readable by everyone).
    """
    _remove_leftovers()
    tag = secrets.token_hex(3)
    name = f"{_PREFIX}{os.getpid()}-{tag}"
    outer, inner = f"rsi{tag}h", f"rsi{tag}n"  # interface names: 15 characters at most
    host_addr, ns_addr = _free_subnet()
    _run("ip", "netns", "add", name)
    namespace = Namespace(name, host_addr, ns_addr, outer)
    try:
        _run("ip", "-n", name, "link", "set", "lo", "up")
        _run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        _run("ip", "link", "set", inner, "netns", name)
        _run("ip", "addr", "add", f"{host_addr}/30", "dev", outer)
        _run("ip", "link", "set", outer, "up")
        _run("ip", "-n", name, "addr", "add", f"{ns_addr}/30", "dev", inner)
        _run("ip", "-n", name, "link", "set", inner, "up")
        # The namespace's address must be reached over our veth, never routed
        # anywhere else: no test traffic leaves this machine.
        route = _run("ip", "-4", "route", "get", ns_addr)
        if f"dev {outer}" not in route:
            raise NetnsError(f"{ns_addr} is not routed over {outer}: {route.strip()}")
        _write_etc(namespace.etc, hosts, home)
    except BaseException:
        namespace.close()
        raise
    return namespace


def _write_etc(etc: Path, hosts: Iterable[str], home: Path) -> None:
    # Every entry here is mounted over /etc/<entry> by `ip netns exec`: only
    # files that exist in /etc belong here.
    etc.mkdir(parents=True, exist_ok=True)
    names = " ".join(["localhost", *hosts])
    (etc / "hosts").write_text(f"127.0.0.1 {names}\n::1 localhost\n")
    digest = _run("openssl", "passwd", "-6", USER_PASSWORD).strip()
    passwd = Path("/etc/passwd").read_text()
    (etc / "passwd").write_text(f"{passwd.rstrip()}\n{USER}:x:{_UID}:{_UID}::{home}:/bin/sh\n")
    group = Path("/etc/group").read_text()
    (etc / "group").write_text(f"{group.rstrip()}\n{USER}:x:{_UID}:\n")
    shadow = Path("/etc/shadow").read_text()
    shadow_file = etc / "shadow"
    shadow_file.write_text(f"{shadow.rstrip()}\n{USER}:{digest}:19000:0:99999:7:::\n")
    shadow_file.chmod(0o640)
    if Path("/etc/resolv.conf").exists():
        # Names the hosts file lacks fail at once, on the namespace's empty
        # loopback: no lookup ever leaves the machine.
        (etc / "resolv.conf").write_text("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")


# ----------------------------------------------------------------------------- sshd


class _Log:
    """Lines a process writes, kept; waits on a line with a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._eof = False
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        try:
            for line in stream:
                with self._cond:
                    self.lines.append(line.rstrip("\n"))
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def wait_for(self, pattern: str, *, start: int = 0, timeout: float = 15.0) -> re.Match[str]:
        """The first line from ``start`` on that matches ``pattern``."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[start:]:
                    found = regex.search(line)
                    if found:
                        return found
                remaining = deadline - time.monotonic()
                if self._eof or remaining <= 0:
                    tail = "\n".join(self.lines[-30:])
                    raise AssertionError(f"sshd never logged {pattern!r}; last lines:\n{tail}")
                self._cond.wait(remaining)

    def join(self) -> None:
        self._thread.join(timeout=5)


@dataclass(frozen=True, slots=True)
class SSHUser:
    """What a client needs: keys, a HOME with known_hosts and an SSH config."""

    home: Path
    key: Path
    """Unencrypted ed25519 key in authorized_keys."""
    encrypted_key: Path
    """Another authorized key, encrypted with :data:`KEY_PASSPHRASE`."""
    stranger_key: Path
    """A key the bastion does not know."""
    known_hosts: Path
    config: Path

    def env(self, **extra: str) -> dict[str, str]:
        """Variables for a client process: this HOME, no agent of the caller's."""
        return {"HOME": str(self.home), "SSH_AUTH_SOCK": "", **extra}


class SSHServer:
    """A real OpenSSH sshd in the namespace, logging at DEBUG1 (direct-tcpip channels)."""

    def __init__(
        self, namespace: Namespace, directory: Path, port: int, *, forwarding: bool = True
    ) -> None:
        self.namespace = namespace
        self.directory = directory
        self.port = port
        self.forwarding = forwarding
        self.host_key = directory / "ssh_host_ed25519_key"
        self.config = directory / f"sshd_config-{port}"
        self.process: subprocess.Popen[str] | None = None
        self.log: _Log | None = None
        self.starts = 0

    @property
    def address(self) -> str:
        """``user@addr:port`` for ``--ssh``."""
        return f"{USER}@{self.namespace.ns_addr}:{self.port}"

    def write_config(self, authorized_keys: Path) -> None:
        self.config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    f"ListenAddress {self.namespace.ns_addr}",
                    # ProxyJump tests jump to the bastion itself, by an
                    # address only the bastion's side reaches.
                    "ListenAddress 127.0.0.1",
                    f"HostKey {self.host_key}",
                    "PidFile none",
                    "UsePAM no",
                    "StrictModes no",
                    f"AuthorizedKeysFile {authorized_keys}",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication yes",
                    "KbdInteractiveAuthentication no",
                    f"AllowUsers {USER}",
                    "PermitRootLogin no",
                    f"AllowTcpForwarding {'yes' if self.forwarding else 'no'}",
                    "MaxStartups 100",
                    "LogLevel DEBUG1",
                    "",
                ]
            )
        )

    def start(self) -> None:
        """Start sshd (same port as before) and wait until it listens."""
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation
        process = subprocess.Popen(
            self.namespace.command(SSHD, "-D", "-e", "-f", str(self.config)),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
        )
        assert process.stdout is not None
        self.process, self.log = process, _Log(process.stdout)
        try:
            self.log.wait_for(rf"Server listening on {re.escape(self.namespace.ns_addr)} port")
        except BaseException:
            self.kill()
            raise
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL sshd and every connection it serves (children run in sessions of their own)."""
        process = self.process
        if process is None:
            return
        for pid in [*_descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        if self.log is not None:
            self.log.join()
        if process.stdout is not None:
            process.stdout.close()
        self.process = None

    def mark(self) -> int:
        """A position in the log: :meth:`forwarded` counts what comes after it."""
        assert self.log is not None
        return len(self.log.lines)

    def forwarded(self, since: int = 0) -> set[str]:
        """``host:port`` of every direct-tcpip channel sshd opened since ``since``."""
        assert self.log is not None
        found = set()
        for line in self.log.lines[since:]:
            match = re.search(r"server_request_direct_tcpip: .*target (\S+) port (\d+)", line)
            if match:
                found.add(f"{match.group(1)}:{match.group(2)}")
        return found

    def wait_forwarded(self, target: str, since: int = 0) -> None:
        """Wait until sshd logged a direct-tcpip channel to ``target`` (``host:port``)."""
        assert self.log is not None
        host, _, port = target.rpartition(":")
        self.log.wait_for(
            rf"server_request_direct_tcpip: .*target {re.escape(host)} port {port}$", start=since
        )


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def ssh_keygen(path: Path, *, passphrase: str = "") -> Path:
    """A fresh ed25519 key pair at ``path`` (and ``path.pub``)."""
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", path.name, "-f", str(path))
    return path


def ssh_flags(server: SSHServer, user: SSHUser, *extra: str) -> list[str]:
    """``--ssh user@bastion:port --ssh-key KEY`` (plus ``extra``), before the subcommand."""
    return ["--ssh", server.address, "--ssh-key", str(user.key), *extra]
