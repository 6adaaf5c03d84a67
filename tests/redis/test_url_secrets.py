"""Issue 14, item 12: no message quotes a URL's password.

Malformed URLs from ``-u``, ``REDIS_URL``, ``demo --redis`` and ``cli -u``, a URL
argparse refuses, and well-formed URLs a real server turns away (wrong password,
wrong port) all name the URL with its password as ``****``.
"""

from __future__ import annotations

import pytest

from inspector.redis_io.settings import mask_url_passwords
from tests.cli_run import inspector
from tests.harness import RedisServer, free_port

SECRET = "Url5ecret"


def _stderr(*args: str, env: dict[str, str] | None = None) -> str:
    result = inspector(*args, env=env)
    assert result.returncode != 0
    text = result.stderr.decode()
    assert SECRET not in text, text
    assert SECRET not in result.stdout.decode()
    return text


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (("-u", f"redis://bob:{SECRET}@127.0.0.1:99999", "ls"), None),
        (("-u", f"redis://bob:{SECRET}@127.0.0.1:notaport", "ls"), None),
        (("-u", f"http://bob:{SECRET}@127.0.0.1:1", "ls"), None),
        (("ls",), {"REDIS_URL": f"redis://bob:{SECRET}@127.0.0.1:99999"}),
        (("ls",), {"REDIS_URL": f"redis://:{SECRET}@127.0.0.1:99999/x"}),
        (("ls", f"redis://bob:{SECRET}@127.0.0.1:6380"), None),  # a stray argument
        (("cli", "-u", f"redis://bob:{SECRET}@127.0.0.1:99999", "PING"), None),
        (("demo", "--redis", f"redis://bob:{SECRET}@127.0.0.1:99999"), None),
    ],
)
def test_malformed_urls_are_quoted_masked(
    args: tuple[str, ...], env: dict[str, str] | None
) -> None:
    text = _stderr(*args, env=env)
    assert "****" in text, text


def test_a_refused_password_is_not_echoed(redis_acl: RedisServer) -> None:
    url = f"redis://reader:{SECRET}@127.0.0.1:{redis_acl.port}"
    _stderr("-u", url, "ls")
    _stderr("-u", url, "show", "abc")
    _stderr("-u", url, "cli", "PING")


def test_an_unreachable_url_is_not_echoed() -> None:
    _stderr("-u", f"redis://bob:{SECRET}@127.0.0.1:{free_port()}", "ls")


def test_masking_rules() -> None:
    assert mask_url_passwords(f"'redis://bob:{SECRET}@h:1'") == "'redis://bob:****@h:1'"
    assert mask_url_passwords(f"rediss://:{SECRET}@h") == "rediss://:****@h"
    # redis-cli reads a userinfo without a colon as the password.
    assert mask_url_passwords(f"redis://{SECRET}@h") == "redis://****@h"
    # A password with an unescaped @ or / is masked to its last @.
    assert mask_url_passwords(f"redis://u:a@{SECRET}/x@h/0") == "redis://u:****@h/0"
    assert mask_url_passwords("redis://h:6379/0 and no secret") == "redis://h:6379/0 and no secret"
