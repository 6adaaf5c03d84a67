"""Saved connection profiles: ``profiles.toml``, one table per profile.

    # ~/.config/session-inspector/profiles.toml ($XDG_CONFIG_HOME is honoured)
    [prod]
    endpoint = "clustercfg.sessions.abc123.euw1.cache.amazonaws.com:6379"
    tls = true
    cluster = true
    user = "inspector"
    password_command = "pass show redis/prod-inspector"
    ssh = "ec2-user@bastion.prod.example"

A profile holds the same values as the connection flags (each key is named
after its flag: ``host``, ``port``, ``url``, ``user``, ``db``, ``tls``,
``cacert``...) and fills them where the command line leaves them out, so it
ends in the same :class:`~inspector.redis_io.settings.ConnectionSettings` as
typed flags would. Secrets are only referenced (``password_env``,
``password_command``, ``password_file`` with mode 0600); a literal password is
refused. Nothing here talks to Redis: reading the file and a secret is all.

Precedence, field by field: flags typed on the command line, then the
profile, then the environment (``REDIS_URL``, ``REDISCLUSTERENDPOINT``,
``REDISCLI_AUTH``), then the defaults. A profile is chosen by name, so it
beats what the environment happens to hold: on an ECS host
``REDISCLUSTERENDPOINT`` is always set, and ``--profile staging`` must not
quietly reach that cluster instead. A profile that names an endpoint replaces
the environment's endpoint as a whole (like ``-u``); the environment still
fills what the profile leaves out (``REDISCLI_AUTH`` when it references no
password).
"""

from __future__ import annotations

import difflib
import stat
import subprocess
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from inspector.redis_io.settings import (
    ConnectionFlags,
    SettingsError,
    parse_db,
    parse_endpoint,
    parse_port,
    parse_ssh_target,
    parse_url,
)

__all__ = [
    "PROFILE_ENV",
    "PROFILE_KEYS",
    "Profile",
    "SecretRef",
    "load_profile",
    "load_profiles",
    "profiles_path",
]

PROFILE_ENV = "SESSION_INSPECTOR_PROFILE"
"""Names the profile to use when ``--profile`` is not given."""

_SECRETS = ("password", "ssh_password", "ssh_passphrase")
"""Secrets a profile can reference; each as ``<name>_env``, ``_command`` or ``_file``."""
_SECRET_FORMS = ("env", "command", "file")

_STRINGS = (
    "url", "endpoint", "host", "socket", "user",
    "cacert", "cacertdir", "cert", "key", "sni",
    "ssh", "ssh_config",
)  # fmt: skip
_BOOLS = ("tls", "insecure", "cluster", "ssh_accept_new")
_NUMBERS = ("port", "db", "timeout")
_LISTS = ("ssh_key",)
_PATHS = ("cacert", "cacertdir", "cert", "key", "ssh_config")
"""Keys whose value is a file: ``~`` expands, relative paths start at the profiles file."""

PROFILE_KEYS = tuple(
    sorted(
        (
            *_STRINGS,
            *_BOOLS,
            *_NUMBERS,
            *_LISTS,
            *(f"{secret}_{form}" for secret in _SECRETS for form in _SECRET_FORMS),
        )
    )
)
"""Every key a profile may hold."""

_ENDPOINT_KEYS = ("url", "endpoint", "socket", "host", "port")


def profiles_path(env: Mapping[str, str]) -> Path:
    """``$XDG_CONFIG_HOME/session-inspector/profiles.toml``, else under ``~/.config``.

    A relative ``XDG_CONFIG_HOME`` is ignored, as the XDG specification says.
    """
    base = env.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "session-inspector" / "profiles.toml"


# ---------------------------------------------------------------- secrets


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a profile's secret comes from; the secret itself is read only by :meth:`read`."""

    profile: str
    """The profile's name, for messages."""
    key: str
    """The key as written (``password_env``, ``ssh_passphrase_file``...)."""
    form: Literal["env", "command", "file"]
    value: str | tuple[str, ...]
    """The variable's name, the command (a shell line, or an argument list), or the file."""

    @property
    def described(self) -> str:
        """Where the secret comes from, for ``profiles`` (never the secret)."""
        if self.form == "env":
            return f"env {self.value}"
        if self.form == "file":
            return f"file {self.value}"
        shown = self.value if isinstance(self.value, str) else " ".join(self.value)
        return f"command: {shown}"

    def status(self, env: Mapping[str, str]) -> str:
        """What is wrong with the reference today (``unset``, ``mode 0644``), or ``""``.

        Runs no command: listing profiles has no side effects.
        """
        if self.form == "env":
            return "" if env.get(str(self.value)) else "unset"
        if self.form == "file":
            try:
                mode = Path(str(self.value)).stat().st_mode
            except OSError:
                return "missing"
            return f"mode {stat.S_IMODE(mode):04o}: refused" if mode & 0o077 else ""
        return ""

    def read(self, env: Mapping[str, str]) -> str:
        """The secret, from its variable, command (first line of stdout) or file (first line).

        Raises:
            SettingsError: The variable is unset, the command fails or prints
                nothing, the file is missing, empty or readable by others.
            KeyboardInterrupt: While the command runs (it may ask something).
        """
        where = f"profile {self.profile!r}: {self.key}"
        if self.form == "env":
            secret = env.get(str(self.value))
            if not secret:
                raise SettingsError(f"{where}: variable {self.value} is not set (or is empty)")
            return secret
        if self.form == "file":
            return _read_secret_file(Path(str(self.value)), where)
        return _run_secret_command(self.value, where)


def _first_line(text: str) -> str:
    lines = text.splitlines()
    return lines[0] if lines else ""


def _read_secret_file(path: Path, where: str) -> str:
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise SettingsError(f"{where} {path}: {exc.strerror or exc}") from None
    if mode & 0o077:
        raise SettingsError(
            f"{where} {path} is readable or writable by others (mode "
            f"{stat.S_IMODE(mode):04o}); it must be 0600 or stricter: chmod 600 {path}"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SettingsError(f"{where} {path}: cannot read it: {reason}") from None
    secret = _first_line(text)
    if not secret:
        raise SettingsError(f"{where} {path}: the file's first line is empty")
    return secret


def _run_secret_command(command: str | tuple[str, ...], where: str) -> str:
    shown = command if isinstance(command, str) else " ".join(command)
    try:
        # stdin and stderr stay the terminal's: the command may ask (pinentry, a PIN).
        done = subprocess.run(
            command if isinstance(command, str) else list(command),
            shell=isinstance(command, str),
            stdout=subprocess.PIPE,
            check=False,
        )
    except OSError as exc:
        raise SettingsError(f"{where} {shown!r} cannot run: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise SettingsError(f"{where} {shown!r} failed (exit {done.returncode})")
    secret = _first_line(done.stdout.decode("utf-8", "replace"))
    if not secret:
        raise SettingsError(f"{where} {shown!r} printed nothing on its first line")
    return secret


# ---------------------------------------------------------------- profiles


@dataclass(frozen=True, slots=True)
class Profile:
    """One table of ``profiles.toml``, checked: the flags it stands for and its secrets."""

    name: str
    origin: Path
    """The file it was read from."""
    flags: ConnectionFlags = field(default_factory=ConnectionFlags)
    """The connection flags it sets (``None``/``False`` where it says nothing; no password)."""
    ssh: str | None = None
    ssh_keys: tuple[str, ...] = ()
    ssh_config: str | None = None
    ssh_accept_new: bool = False
    password: SecretRef | None = None
    ssh_password: SecretRef | None = None
    ssh_passphrase: SecretRef | None = None

    @property
    def names_endpoint(self) -> bool:
        """Whether it says where the server is (then the environment's endpoint is not used)."""
        f = self.flags
        return any(value is not None for value in (f.url, f.host, f.port, f.socket))

    @property
    def endpoint(self) -> str:
        """The endpoint as ``profiles`` shows it (a URL's password cannot be there)."""
        f = self.flags
        if f.url:
            return f.url
        if f.socket:
            return f.socket
        if f.host is None and f.port is None:
            return "(from the environment)"
        host = f.host or "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return f"{host}:{f.port or 6379}"


def _fail(name: str, message: str) -> SettingsError:
    return SettingsError(f"profile {name!r}: {message}")


def _unknown_key(name: str, key: str) -> SettingsError:
    if key in _SECRETS:
        forms = ", ".join(f'{key}_{form} = "..."' for form in _SECRET_FORMS)
        return _fail(
            name,
            f"a literal {key} is not stored in profiles.toml; reference it instead: {forms} "
            "(a variable's name, a command whose first line of output it is, "
            "or a file of mode 0600)",
        )
    close = difflib.get_close_matches(key, PROFILE_KEYS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return _fail(name, f"unknown key {key!r}{hint}; keys: {', '.join(PROFILE_KEYS)}")


def _kind(value: object) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string"}.get(
        type(value), type(value).__name__
    )


def _path(value: str, base: Path) -> str:
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def _check_file(name: str, key: str, value: str, *, directory: bool = False) -> None:
    path = Path(value)
    exists = path.is_dir() if directory else path.is_file()
    if not exists:
        raise _fail(name, f"{key} {value}: no such {'directory' if directory else 'file'}")


def _parse(name: str, table: Mapping[str, Any], origin: Path) -> Profile:
    base = origin.parent
    values: dict[str, Any] = {}
    secrets: dict[str, SecretRef] = {}
    for key, value in table.items():
        if key not in PROFILE_KEYS:
            raise _unknown_key(name, key)
        secret, _, form = key.rpartition("_")
        if secret in _SECRETS and form in _SECRET_FORMS:
            if secret in secrets:
                raise _fail(
                    name, f"{secrets[secret].key} and {key}: give one source for the {secret}"
                )
            secrets[secret] = _secret(name, key, secret, form, value, base)
            continue
        if key in _BOOLS:
            if not isinstance(value, bool):
                raise _fail(name, f"{key} must be true or false, not {_kind(value)}")
        elif key in _NUMBERS:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _fail(name, f"{key} must be a number, not {_kind(value)}")
            if key != "timeout" and not isinstance(value, int):
                raise _fail(name, f"{key} must be a whole number, not {value!r}")
        elif key in _LISTS:
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
                raise _fail(name, f"{key} must be a file name or a list of them")
            value = tuple(_path(item, base) for item in items)
            for item in value:
                _check_file(name, key, item)
        elif not isinstance(value, str) or not value:
            raise _fail(name, f"{key} must be a non-empty string, not {_kind(value)}")
        elif key in _PATHS:
            value = _path(value, base)
            _check_file(name, key, value, directory=key == "cacertdir")
        values[key] = value
    return _profile(name, origin, values, secrets)


def _secret(name: str, key: str, secret: str, form: str, value: object, base: Path) -> SecretRef:
    if form == "command" and isinstance(value, list):
        if not value or not all(isinstance(item, str) for item in value):
            raise _fail(name, f"{key} must be a shell line or a list of arguments")
        return SecretRef(name, key, "command", tuple(value))
    if not isinstance(value, str) or not value:
        raise _fail(name, f"{key} must be a non-empty string, not {_kind(value)}")
    if form == "env":
        return SecretRef(name, key, "env", value)
    if form == "file":
        return SecretRef(name, key, "file", _path(value, base))
    return SecretRef(name, key, "command", value)


def _profile(
    name: str, origin: Path, values: dict[str, Any], secrets: dict[str, SecretRef]
) -> Profile:
    where = f"profile {name!r}"
    given: list[str] = [key for key in ("url", "endpoint", "socket") if key in values]
    if "host" in values or "port" in values:
        given.append("host/port")
    if len(given) > 1:
        raise _fail(name, f"{' and '.join(given)}: give the server one way")
    host, port = values.get("host"), values.get("port")
    if port is not None:
        port = parse_port(str(port), f"{where}: port")
    if "endpoint" in values:
        parsed = parse_endpoint(values["endpoint"], f"{where}: endpoint")
        if "://" in values["endpoint"]:
            values["url"] = values.pop("endpoint")
        else:
            host, port = parsed.host, parsed.port
    if "url" in values:
        url = values["url"]
        if parse_url(url, f"{where}: url").password is not None:
            raise _fail(
                name,
                "the url holds a password, which is not stored in profiles.toml: take "
                '":password" out of it and reference the password: password_env = "VAR", '
                "password_command or password_file",
            )
    db = parse_db(str(values["db"]), f"{where}: db") if "db" in values else None
    timeout = values.get("timeout")
    if timeout is not None and timeout <= 0:
        raise _fail(name, f"timeout {timeout:g} must be more than 0 seconds")
    if "ssh" in values:
        parse_ssh_target(values["ssh"], f"{where}: ssh")
    elif any(key in values for key in ("ssh_key", "ssh_config", "ssh_accept_new")) or any(
        key in secrets for key in ("ssh_password", "ssh_passphrase")
    ):
        raise _fail(name, 'SSH options without ssh = "[user@]host[:port]"')
    flags = ConnectionFlags(
        host=host,
        port=port,
        socket=values.get("socket"),
        username=values.get("user"),
        url=values.get("url"),
        db=db,
        tls=values.get("tls", False),
        ca_cert=values.get("cacert"),
        ca_dir=values.get("cacertdir"),
        cert=values.get("cert"),
        key=values.get("key"),
        sni=values.get("sni"),
        insecure=values.get("insecure", False),
        cluster=values.get("cluster", False),
        connect_timeout=float(timeout) if timeout is not None else None,
    )
    return Profile(
        name=name,
        origin=origin,
        flags=flags,
        ssh=values.get("ssh"),
        ssh_keys=values.get("ssh_key", ()),
        ssh_config=values.get("ssh_config"),
        ssh_accept_new=values.get("ssh_accept_new", False),
        password=secrets.get("password"),
        ssh_password=secrets.get("ssh_password"),
        ssh_passphrase=secrets.get("ssh_passphrase"),
    )


def _read_tables(path: Path) -> dict[str, Any] | None:
    """The file's tables, ``None`` when there is no file.

    Raises:
        SettingsError: It cannot be read, is not TOML, or holds a key outside a table.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    try:
        tables = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: invalid TOML: {exc}") from None
    for name, value in tables.items():
        if not isinstance(value, dict):
            raise SettingsError(
                f"{path}: {name!r} is outside any profile; put it under a [name] table"
            )
    return tables


def load_profiles(env: Mapping[str, str], path: Path | None = None) -> list[Profile] | None:
    """Every profile of the file, checked, in the file's order; ``None`` when there is no file.

    Raises:
        SettingsError: The file is malformed or a profile is invalid (the first one).
    """
    path = path or profiles_path(env)
    tables = _read_tables(path)
    if tables is None:
        return None
    return [_parse(name, table, path) for name, table in tables.items()]


def load_profile(name: str, env: Mapping[str, str], path: Path | None = None) -> Profile:
    """The profile called ``name``, checked (the others are only parsed as TOML).

    Raises:
        SettingsError: No file, no such profile (the message lists the
            valid names), malformed TOML, or an invalid profile.
    """
    path = path or profiles_path(env)
    tables = _read_tables(path)
    if tables is None:
        raise SettingsError(f"unknown profile {name!r}: there is no {path}")
    if name not in tables:
        names = ", ".join(tables) or "none"
        raise SettingsError(f"unknown profile {name!r} in {path}; profiles: {names}")
    return _parse(name, tables[name], path)
