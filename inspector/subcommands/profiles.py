"""`session-inspector profiles`: the saved connection profiles, checked, without secrets."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

from inspector.redis_io.profiles import PROFILE_ENV, Profile, SecretRef, load_profiles
from inspector.redis_io.settings import parse_url
from inspector.subcommands.command import Subparsers, add_command

__all__ = ["describe_profiles", "register", "run"]

COLUMNS = ("NAME", "ENDPOINT", "USER", "TLS", "CLUSTER", "SSH", "PASSWORD")


def register(subparsers: Subparsers) -> None:
    """Add the ``profiles`` subcommand."""
    add_command(
        subparsers,
        "profiles",
        run=run,
        resolve=_environment,
        help="list the saved connection profiles (profiles.toml), never their secrets",
        description="Lists the profiles of $XDG_CONFIG_HOME/session-inspector/profiles.toml "
        "(default ~/.config/...) with where each secret comes from, and checks them: a bad "
        "key, a literal password or malformed TOML is one line and exit 2. Use one with "
        "--profile NAME before the command (or SESSION_INSPECTOR_PROFILE=NAME).",
    )


def _environment(ns: argparse.Namespace, env: Mapping[str, str]) -> Mapping[str, str]:
    return env


def _secret(ref: SecretRef | None, env: Mapping[str, str]) -> str:
    if ref is None:
        return ""
    status = ref.status(env)
    return f"{ref.described} ({status})" if status else ref.described


def _row(profile: Profile, env: Mapping[str, str]) -> tuple[str, ...]:
    flags = profile.flags
    endpoint = profile.endpoint
    if flags.db:
        endpoint += f"[{flags.db}]"
    tls = flags.tls or (flags.url or "").startswith("rediss://")
    ssh = profile.ssh or "-"
    for label, ref in (("password", profile.ssh_password), ("passphrase", profile.ssh_passphrase)):
        if ref is not None:
            ssh += f" ({label}: {_secret(ref, env)})"
    return (
        profile.name,
        endpoint,
        flags.username or (parse_url(flags.url).username if flags.url else None) or "-",
        ("insecure" if flags.insecure else "yes") if tls else "no",
        "yes" if flags.cluster else "auto",
        ssh,
        _secret(profile.password, env) or "- (REDISCLI_AUTH if set)",
    )


def describe_profiles(env: Mapping[str, str]) -> str:
    """The listing ``profiles`` prints.

    Raises:
        SettingsError: The file or one of its profiles is invalid.
    """
    from inspector.redis_io.profiles import profiles_path

    path = profiles_path(env)
    profiles = load_profiles(env, path)
    if profiles is None:
        return f"no profiles: {path} does not exist (see the README: 'Saved connection profiles')\n"
    if not profiles:
        return f"no profiles in {path}\n"
    rows = [COLUMNS, *(_row(profile, env) for profile in profiles)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    lines = [f"profiles in {path}:"]
    for row in rows:
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    chosen = env.get(PROFILE_ENV)
    if chosen:
        lines.append(f"{PROFILE_ENV}={chosen}: used when --profile is not given")
    return "\n".join(lines) + "\n"


def run(ns: argparse.Namespace, env: Mapping[str, str]) -> int:
    """Print the profiles; a bad file is a usage error (raised, exit 2)."""
    sys.stdout.write(describe_profiles(env))
    return 0
