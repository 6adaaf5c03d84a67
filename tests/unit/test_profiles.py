"""Saved connection profiles (issue 16.14): parsing, precedence, refused secrets, bad files.

No server: the profile's settings are compared with what the same flags give.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from inspector import cli
from inspector.redis_io.profiles import PROFILE_KEYS, load_profile, load_profiles, profiles_path
from inspector.redis_io.settings import ConnectionSettings, SettingsError
from inspector.subcommands.profiles import describe_profiles
from tests.cli_run import inspector
from tests.harness import TLSFiles


def write(home: Path, text: str) -> Path:
    path = home / "session-inspector" / "profiles.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def secret_file(path: Path, text: str = "s3cret\n", mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def resolve(args: list[str], env: dict[str, str]) -> ConnectionSettings:
    """The settings a command line resolves to, through the real parser (as `ls` would)."""
    ns = cli._parser([*args, "ls"]).parse_args([*args, "ls"])
    settings = ns.command.resolve(ns, env)
    assert isinstance(settings, ConnectionSettings)
    return settings


@pytest.fixture
def xdg(tmp_path: Path) -> dict[str, str]:
    return {"XDG_CONFIG_HOME": str(tmp_path)}


# ---------------------------------------------------------------- where the file is


def test_the_file_is_under_xdg_config_home_else_dot_config() -> None:
    assert profiles_path({"XDG_CONFIG_HOME": "/cfg"}) == Path(
        "/cfg/session-inspector/profiles.toml"
    )
    home = Path.home() / ".config" / "session-inspector" / "profiles.toml"
    assert profiles_path({}) == home
    assert profiles_path({"XDG_CONFIG_HOME": "relative/dir"}) == home  # the spec: ignored


# ---------------------------------------------------------------- every flag can be saved


def test_a_profile_gives_the_settings_its_flags_give(
    tmp_path: Path, xdg: dict[str, str], tls_files: TLSFiles
) -> None:
    ca = tls_files.ca_cert
    key = tmp_path / "id_ed25519"
    key.write_text("x")
    write(
        tmp_path,
        f"""
[full]
host = "cache.example"
port = 6380
user = "inspector"
password_env = "PROFILE_PW"
tls = true
cacert = "ca.pem"
sni = "sni.example"
timeout = 2.5
ssh = "ops@bastion:2222"
ssh_key = ["{key}"]
ssh_accept_new = true
""".replace("ca.pem", str(ca)),
    )
    env = {**xdg, "PROFILE_PW": "pw1"}
    saved = resolve(["--profile", "full"], env)
    typed = resolve(
        [
            "-h", "cache.example", "-p", "6380", "--user", "inspector", "--tls",
            "--cacert", str(ca), "--sni", "sni.example", "-t", "2.5",
            "--ssh", "ops@bastion:2222", "--ssh-key", str(key), "--ssh-accept-new",
        ],
        {"REDISCLI_AUTH": "pw1"},
    )  # fmt: skip
    assert saved.source == "profile full"
    assert typed.source == "flags"
    from dataclasses import replace

    assert replace(saved, source="flags") == typed
    assert saved.password == "pw1"
    assert saved.ssh is not None
    assert saved.ssh.keys == (key,)


def test_url_endpoint_socket_db_and_cluster(xdg: dict[str, str], tmp_path: Path) -> None:
    write(
        tmp_path,
        """
[url]
url = "rediss://bob@10.0.0.5:6390/3"
insecure = true
[ecs]
endpoint = "clustercfg.demo.abc123.apne1.cache.amazonaws.com:6380"
cluster = true
[sock]
socket = "/run/redis.sock"
db = 4
""",
    )
    url = resolve(["--profile", "url"], {**xdg, "REDISCLI_AUTH": "pw"})
    assert (url.host, url.port, url.db, url.username) == ("10.0.0.5", 6390, 3, "bob")
    assert url.tls is not None
    assert url.tls.insecure
    ecs = resolve(["--profile", "ecs"], xdg)
    assert ecs.endpoint == "clustercfg.demo.abc123.apne1.cache.amazonaws.com:6380"
    assert ecs.cluster is True
    sock = resolve(["--profile", "sock"], xdg)
    assert (sock.socket, sock.db) == ("/run/redis.sock", 4)


def test_relative_paths_start_at_the_profiles_directory(
    tmp_path: Path, xdg: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, '[p]\nport = 7000\npassword_file = "pw"\n')
    secret_file(path.parent / "pw", "from-file\n")
    monkeypatch.chdir("/")
    assert resolve(["--profile", "p"], xdg).password == "from-file"


# ---------------------------------------------------------------- precedence


def test_typed_flags_beat_the_profile_field_by_field(tmp_path: Path, xdg: dict[str, str]) -> None:
    write(tmp_path, '[p]\nhost = "saved"\nport = 7000\ndb = 2\npassword_env = "PW"\n')
    env = {**xdg, "PW": "saved-pw"}
    settings = resolve(["--profile", "p", "-p", "7001", "-a", "typed-pw"], env)
    assert (settings.endpoint, settings.db, settings.password) == ("saved:7001", 2, "typed-pw")
    assert settings.source == "flags"
    # -u names the server as a whole: the profile's host and port go, its db
    # stays unless the URL has one, and the URL's password beats the profile's.
    settings = resolve(["--profile", "p", "-u", "redis://:url-pw@other"], env)
    assert (settings.endpoint, settings.db, settings.password) == ("other:6379", 2, "url-pw")
    assert resolve(["--profile", "p", "-u", "redis://other/5"], env).db == 5


def test_the_profile_beats_the_environment(tmp_path: Path, xdg: dict[str, str]) -> None:
    write(
        tmp_path,
        '[named]\nhost = "saved"\npassword_env = "PW"\n[nameless]\nuser = "reader"\n',
    )
    env = {
        **xdg,
        "PW": "saved-pw",
        "REDISCLUSTERENDPOINT": "ecs-cluster:7001",
        "REDISCLI_AUTH": "env-pw",
    }
    named = resolve(["--profile", "named"], env)
    # The whole endpoint is the profile's: not saved:7001.
    assert (named.endpoint, named.password) == ("saved:6379", "saved-pw")
    # A profile that names no server and no secret: the environment fills in.
    nameless = resolve(["--profile", "nameless"], env)
    assert (nameless.endpoint, nameless.username, nameless.password) == (
        "ecs-cluster:7001",
        "reader",
        "env-pw",
    )


def test_the_profile_variable_and_the_flag(tmp_path: Path, xdg: dict[str, str]) -> None:
    write(tmp_path, "[a]\nport = 7000\n[b]\nport = 7001\n")
    assert resolve([], {**xdg, "SESSION_INSPECTOR_PROFILE": "a"}).port == 7000
    assert resolve(["--profile", "b"], {**xdg, "SESSION_INSPECTOR_PROFILE": "a"}).port == 7001
    assert resolve([], xdg).port == 6379


def test_ssh_secrets_from_the_profile_beat_the_environment(
    tmp_path: Path, xdg: dict[str, str]
) -> None:
    write(
        tmp_path,
        '[p]\nhost = "10.0.0.9"\nssh = "bastion"\nssh_password_env = "BASTION_PW"\n'
        f'ssh_passphrase_command = ["{sys.executable}", "-c", "print(\'phrase\')"]\n',
    )
    env = {**xdg, "BASTION_PW": "from-profile", "SSH_PASSWORD": "ambient"}
    ssh = resolve(["--profile", "p"], env).ssh
    assert ssh is not None
    assert (ssh.host, ssh.password, ssh.passphrase) == ("bastion", "from-profile", "phrase")


def test_the_tui_takes_the_same_settings_path(tmp_path: Path, xdg: dict[str, str]) -> None:
    write(tmp_path, '[p]\nport = 7009\nuser = "u"\npassword_env = "PW"\n')
    for args in (["--profile", "p", "tui"], ["--profile", "p"]):
        parser = cli._parser(args)
        ns = parser.parse_args(args if args[-1] == "tui" else [*args, cli.DEFAULT_COMMAND])
        assert ns.command.name == "tui"
        settings = ns.command.resolve(ns, {**xdg, "PW": "pw"})
        assert (settings.port, settings.username, settings.password) == (7009, "u", "pw")


def test_cli_takes_profile_after_the_command_too(tmp_path: Path, xdg: dict[str, str]) -> None:
    write(tmp_path, "[a]\nport = 7000\n[b]\nport = 7001\n")
    for args, port in (
        (["cli", "--profile", "a", "PING"], 7000),
        (["--profile", "a", "cli", "--profile", "b", "PING"], 7001),
        (["--profile", "a", "cli", "-p", "7002", "PING"], 7002),
    ):
        ns = cli._parser(args).parse_args(args)
        invocation = ns.command.resolve(ns, xdg)
        assert invocation.settings.port == port, args


def test_demo_leaves_its_embedded_redis_for_a_typed_profile_only(
    tmp_path: Path, xdg: dict[str, str]
) -> None:
    write(tmp_path, "[p]\nport = 7003\n")
    typed = ["--profile", "p", "demo"]
    ns = cli._parser(typed).parse_args(typed)
    settings = ns.command.resolve(ns, xdg)
    assert settings is not None
    assert (settings.port, settings.source) == (7003, "profile p")
    ns = cli._parser(["demo"]).parse_args(["demo"])
    assert ns.command.resolve(ns, {**xdg, "SESSION_INSPECTOR_PROFILE": "p"}) is None
    both = [*typed, "--redis", "redis://elsewhere"]
    ns = cli._parser(both).parse_args(both)
    with pytest.raises(SettingsError, match="not both"):
        ns.command.resolve(ns, xdg)


# ---------------------------------------------------------------- secrets


def test_password_command_takes_the_first_line(tmp_path: Path, xdg: dict[str, str]) -> None:
    write(
        tmp_path,
        "[shell]\nport = 7000\npassword_command = \"printf 'line1\\\\nline2\\\\n'\"\n"
        f'[argv]\nport = 7000\npassword_command = ["{sys.executable}", "-c", "print(42)"]\n',
    )
    assert resolve(["--profile", "shell"], xdg).password == "line1"
    assert resolve(["--profile", "argv"], xdg).password == "42"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('password_env = "NOT_SET_ANYWHERE"', "variable NOT_SET_ANYWHERE is not set"),
        ('password_command = "exit 3"', "'exit 3' failed (exit 3)"),
        ('password_command = "true"', "printed nothing"),
        ('password_file = "missing"', "No such file"),
    ],
)
def test_unusable_secrets_are_one_line(
    tmp_path: Path, xdg: dict[str, str], body: str, message: str
) -> None:
    write(tmp_path, f"[p]\nport = 7000\n{body}\n")
    with pytest.raises(SettingsError, match="profile 'p': ") as caught:
        resolve(["--profile", "p"], xdg)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o620, 0o666])
def test_a_password_file_others_can_read_is_refused(
    tmp_path: Path, xdg: dict[str, str], mode: int
) -> None:
    path = write(tmp_path, '[p]\nport = 7000\npassword_file = "pw"\n')
    secret_file(path.parent / "pw", mode=mode)
    with pytest.raises(SettingsError) as caught:
        resolve(["--profile", "p"], xdg)
    assert f"mode {mode:04o}" in str(caught.value)
    assert "chmod 600" in str(caught.value)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_a_private_password_file_is_read(tmp_path: Path, xdg: dict[str, str], mode: int) -> None:
    path = write(tmp_path, '[p]\nport = 7000\npassword_file = "pw"\n')
    secret_file(path.parent / "pw", "s3cret\r\nignored\n", mode=mode)
    assert resolve(["--profile", "p"], xdg).password == "s3cret"


def test_secrets_are_not_read_when_a_typed_one_wins(tmp_path: Path, xdg: dict[str, str]) -> None:
    marker = tmp_path / "ran"
    write(tmp_path, f'[p]\nport = 7000\npassword_command = "touch {marker}; echo pw"\n')
    assert resolve(["--profile", "p", "-a", "typed"], xdg).password == "typed"
    assert not marker.exists()
    assert resolve(["--profile", "p"], xdg).password == "pw"
    assert marker.exists()


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ('password = "hunter2"', 'password_env = "..."'),
        ('ssh_password = "hunter2"', 'ssh_password_file = "..."'),
        ('ssh_passphrase = "hunter2"', 'ssh_passphrase_command = "..."'),
        ('url = "redis://bob:hunter2@host"', "the url holds a password"),
        ('url = "redis://:hunter2@host"', 'take ":password" out of it'),
    ],
)
def test_a_literal_secret_is_refused_with_how_to_reference_it(
    tmp_path: Path, xdg: dict[str, str], body: str, needle: str
) -> None:
    write(tmp_path, f"[p]\n{body}\n")
    with pytest.raises(SettingsError) as caught:
        load_profile("p", xdg)
    text = str(caught.value)
    assert needle in text
    assert "hunter2" not in text
    assert text.startswith("profile 'p': ")


# ---------------------------------------------------------------- bad files: one line, exit 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[p]\nhots = "x"\n', "profile 'p': unknown key 'hots' (did you mean 'host'?)"),
        ("[p]\nport = 70000\n", "port 70000 is out of range"),
        ('[p]\nport = "6379"\n', "port must be a number, not a string"),
        ('[p]\ntls = "yes"\n', "tls must be true or false, not a string"),
        ("[p]\ndb = -1\n", "database -1 must be 0 or more"),
        ("[p]\ntimeout = 0\n", "timeout 0 must be more than 0 seconds"),
        ('[p]\nurl = "http://x"\n', "unknown URL scheme"),
        ('[p]\nurl = "redis://a"\nhost = "b"\n', "url and host/port: give the server one way"),
        ('[p]\nssh_key = "/nonexistent/key"\nssh = "b"\n', "ssh_key /nonexistent/key: no such"),
        ("[p]\nssh_accept_new = true\n", "SSH options without ssh ="),
        ('[p]\ncacert = "nope.pem"\n', "cacert "),
        ('[p]\npassword_env = "A"\npassword_file = "b"\n', "give one source for the password"),
        ("[p\nhost = 1\n", "invalid TOML: "),
        ('host = "x"\n', "'host' is outside any profile; put it under a [name] table"),
    ],
)
def test_bad_profiles_are_one_line(
    tmp_path: Path, xdg: dict[str, str], text: str, message: str
) -> None:
    write(tmp_path, text)
    with pytest.raises(SettingsError) as caught:
        load_profiles(xdg)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unknown_keys_list_the_valid_ones(tmp_path: Path, xdg: dict[str, str]) -> None:
    write(tmp_path, "[p]\nzzz = 1\n")
    with pytest.raises(SettingsError) as caught:
        load_profile("p", xdg)
    assert all(key in str(caught.value) for key in PROFILE_KEYS)


def test_an_unknown_profile_lists_the_valid_names(tmp_path: Path, xdg: dict[str, str]) -> None:
    path = write(tmp_path, "[prod]\nport = 1\n[staging]\nport = 2\n")
    with pytest.raises(SettingsError) as caught:
        load_profile("stagign", xdg)
    assert str(caught.value) == (f"unknown profile 'stagign' in {path}; profiles: prod, staging")
    with pytest.raises(SettingsError, match="there is no "):
        load_profile("prod", {"XDG_CONFIG_HOME": str(tmp_path / "empty")})


def test_only_the_chosen_profile_must_be_valid(tmp_path: Path, xdg: dict[str, str]) -> None:
    write(tmp_path, '[good]\nport = 7000\n[bad]\nhots = "x"\n')
    assert resolve(["--profile", "good"], xdg).port == 7000
    with pytest.raises(SettingsError, match="unknown key 'hots'"):
        load_profiles(xdg)  # what `profiles` checks: all of them


@pytest.mark.parametrize(
    ("args", "text", "needle"),
    [
        (["--profile", "nope", "ls"], "[prod]\nport = 1\n", "unknown profile 'nope'"),
        (["--profile", "p", "ls"], "[p]\nbogus = 1\n", "unknown key 'bogus'"),
        (["--profile", "p", "ls"], '[p]\npassword = "x"\n', "literal password"),
        (["--profile", "p", "cli", "PING"], "[p\n", "invalid TOML"),
        (["profiles"], "[p]\nbogus = 1\n", "unknown key 'bogus'"),
        (["--profile", "p", "demo"], "[p]\nbogus = 1\n", "unknown key 'bogus'"),
    ],
)
def test_the_command_line_says_it_in_one_line_exit_2(
    tmp_path: Path, args: list[str], text: str, needle: str
) -> None:
    write(tmp_path, text)
    result = inspector(*args, env={"XDG_CONFIG_HOME": str(tmp_path)})
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert err.count("\n") == 1, err
    assert err.startswith("session-inspector: "), err
    assert needle in err
    assert "Traceback" not in err


def test_a_refused_password_file_is_one_line_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, '[p]\nport = 7000\npassword_file = "pw"\n')
    secret_file(path.parent / "pw", mode=0o644)
    result = inspector("--profile", "p", "ls", env={"XDG_CONFIG_HOME": str(tmp_path)})
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert err.count("\n") == 1, err
    assert "mode 0644" in err
    assert "s3cret" not in err


# ---------------------------------------------------------------- listing


def test_the_listing_says_where_secrets_come_from_never_what_they_are(
    tmp_path: Path, xdg: dict[str, str]
) -> None:
    path = write(
        tmp_path,
        """
[prod]
endpoint = "clustercfg.x.cache.amazonaws.com:6379"
tls = true
cluster = true
user = "inspector"
password_command = "pass show redis/prod"
ssh = "ec2-user@bastion"
ssh_passphrase_env = "KEY_PW"
[local]
port = 6390
db = 2
password_env = "LOCAL_PW"
[filed]
url = "redis://bob@10.0.0.5:6380"
password_file = "pw"
[ambient]
""",
    )
    secret_file(path.parent / "pw", "file-secret", mode=0o644)
    env = {**xdg, "LOCAL_PW": "env-secret", "SESSION_INSPECTOR_PROFILE": "local"}
    text = describe_profiles(env)
    lines = text.splitlines()
    assert lines[0] == f"profiles in {path}:"
    assert lines[1].split() == ["NAME", "ENDPOINT", "USER", "TLS", "CLUSTER", "SSH", "PASSWORD"]
    rows = {line.split()[0]: line for line in lines[2:6]}
    assert rows["prod"].split()[:6] == [
        "prod", "clustercfg.x.cache.amazonaws.com:6379", "inspector", "yes", "yes",
        "ec2-user@bastion",
    ]  # fmt: skip
    assert "(passphrase: env KEY_PW (unset))" in rows["prod"]
    assert rows["prod"].endswith("command: pass show redis/prod")
    assert rows["local"].split()[1:5] == ["127.0.0.1:6390[2]", "-", "no", "auto"]
    assert rows["local"].endswith("env LOCAL_PW")
    assert "bob" in rows["filed"]
    assert rows["filed"].endswith(f"file {path.parent / 'pw'} (mode 0644: refused)")
    assert "(from the environment)" in rows["ambient"]
    assert lines[6] == "SESSION_INSPECTOR_PROFILE=local: used when --profile is not given"
    assert "env-secret" not in text
    assert "file-secret" not in text


def test_the_listing_without_a_file(tmp_path: Path) -> None:
    result = inspector("profiles", env={"XDG_CONFIG_HOME": str(tmp_path)})
    assert result.returncode == 0
    assert b"no profiles: " in result.stdout
    assert str(tmp_path).encode() in result.stdout


def test_the_listing_runs_no_command(tmp_path: Path, xdg: dict[str, str]) -> None:
    marker = tmp_path / "ran"
    write(tmp_path, f'[p]\npassword_command = "touch {marker}"\n')
    describe_profiles(xdg)
    assert not marker.exists()
    assert os.listdir(tmp_path) == ["session-inspector"]


def test_the_readme_example_and_key_list_are_the_real_ones() -> None:
    import re
    import tomllib

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Saved connection profiles (`--profile`)", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    tables = tomllib.loads(example)
    assert list(tables) == ["prod", "staging", "local"]
    used = {key for table in tables.values() for key in table}
    assert used <= set(PROFILE_KEYS)
    keys_bullet = section.split("- **Keys**", 1)[1].split("\n- ", 1)[0]
    listed = set(re.findall(r"`([a-z_]+)`", keys_bullet))
    secrets = {key for key in PROFILE_KEYS if key.rpartition("_")[2] in ("env", "command", "file")}
    assert listed == set(PROFILE_KEYS) - secrets
    for key in secrets:
        assert key.startswith(("password_", "ssh_password_", "ssh_passphrase_"))
        assert f"`{key.rpartition('_')[0]}_" in section or f"`{key}" in section
