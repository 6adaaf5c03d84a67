"""redis-cli's options after `cli`, read as redis-cli reads them (pure)."""

from __future__ import annotations

import pytest

from inspector.redis_io.settings import SettingsError
from inspector.subcommands.cli_options import UNSUPPORTED, parse_cli_args


def test_options_stop_at_the_command_name() -> None:
    options = parse_cli_args(["--raw", "SET", "k", "-x", "--scan"])
    assert options.output == "raw"
    assert options.args == ["SET", "k", "-x", "--scan"]
    assert not options.stdin_last
    assert options.modes == []


def test_negative_repeat_and_protocol_flags_are_not_numbers() -> None:
    options = parse_cli_args(["-r", "-1", "-i", "0.5", "-3", "PING"])
    assert (options.repeat, options.interval, options.resp3) == (-1, 0.5, 1)
    assert options.args == ["PING"]
    assert parse_cli_args(["-2", "--json", "GET", "k"]).resp2


def test_json_implies_resp3_unless_told() -> None:
    assert parse_cli_args(["--json"]).resp3 == 2
    assert parse_cli_args(["-3", "--json"]).resp3 == 1
    assert parse_cli_args(["--quoted-json"]).output == "quoted-json"


def test_last_output_flag_wins_as_in_redis_cli() -> None:
    assert parse_cli_args(["--csv", "--raw"]).output == "raw"
    assert parse_cli_args(["--raw", "--no-raw"]).output == "standard"


def test_connection_options_after_cli() -> None:
    options = parse_cli_args(["-h", "cache.local", "-p", "7000", "-a", "pw", "-c", "--tls", "PING"])
    assert options.connection == {
        "host": "cache.local",
        "port": 7000,
        "password": "pw",
        "cluster": True,
        "tls": True,
    }
    assert options.args == ["PING"]


def test_scan_options() -> None:
    options = parse_cli_args(
        ["--scan", "--pattern", "user:*", "--count", "500", "--type", "hash", "-i", "0.01"]
    )
    assert options.modes == ["scan"]
    assert (options.pattern, options.count, options.scan_type) == (b"user:*", 500, "hash")
    quoted = parse_cli_args(["--scan", "--quoted-pattern", '"a\\x00*"'])
    assert quoted.pattern == b"a\x00*"


def test_sampling_modes() -> None:
    assert parse_cli_args(["--memkeys-samples", "3"]).modes == ["memkeys"]
    assert parse_cli_args(["--memkeys-samples", "3"]).samples == 3
    keystats = parse_cli_args(["--keystats-samples", "0", "--cursor", "42", "--top", "3"])
    assert (keystats.modes, keystats.samples, keystats.cursor, keystats.top) == (
        ["keystats"],
        0,
        42,
        3,
    )


def test_eval_and_stdin_options() -> None:
    options = parse_cli_args(["--eval", "s.lua", "k1", ",", "a1"])
    assert options.eval_file == "s.lua"
    assert options.args == ["k1", ",", "a1"]
    assert parse_cli_args(["-X", "tag", "SET", "k", "tag"]).stdin_tag == "tag"
    assert parse_cli_args(["-d", "|", "-D", ""]).reply_delimiter == b""


def test_double_dash_ends_the_options() -> None:
    assert parse_cli_args(["--", "--raw"]).args == ["--raw"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nope"], "unrecognized option '--nope'"),
        (["-r"], "option -r needs a value"),
        (["-r", "x"], "'x' is not a whole number"),
        (["--count", "0"], "'0' is not a positive count"),
        (["-i", "-1"], "'-1' is not a number of seconds"),
        (["-p", "99999"], "99999"),
        (["-2", "-3"], "-2 and -3 are mutually exclusive"),
        (["-x", "-X", "t"], "-x and -X are mutually exclusive"),
        (["--show-pushes", "maybe"], "Unknown --show-pushes value 'maybe'"),
        (["--quoted-pattern", '"open'], "Invalid quoted string"),
    ],
)
def test_bad_options_are_one_usage_line(argv: list[str], message: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_cli_args(argv)
    assert message in str(raised.value)
    assert str(raised.value).endswith("(see session-inspector cli --help)")


@pytest.mark.parametrize("flag", sorted(UNSUPPORTED))
def test_unsupported_redis_cli_options_say_why(flag: str) -> None:
    with pytest.raises(SettingsError) as raised:
        parse_cli_args([flag, "x"])
    assert f"{flag} is not supported" in str(raised.value)
    assert UNSUPPORTED[flag] in str(raised.value)


def test_cluster_manager_options_are_refused() -> None:
    with pytest.raises(SettingsError, match="--cluster-yes is not supported"):
        parse_cli_args(["--cluster-yes"])
