"""Deployment files, checked without a Docker engine: the Dockerfile (its structure, and
its install commands run for real in a fresh venv), the health check, the nginx
config (`nginx -t`), the compose topology run as processes, the ECS task definitions."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli_run import inspector
from tests.harness import RedisServer, free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def instructions() -> list[tuple[str, str, str]]:
    """(stage, instruction, arguments) for every Dockerfile instruction (continuations joined)."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    stage = ""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, args = line.partition(" ")
        if name.upper() == "FROM":
            stage = args.split(" AS ")[-1].strip() if " AS " in args else args
        out.append((stage, name.upper(), args.strip()))
    return out


# ---------------------------------------------------------------- Dockerfile


def test_dockerfile_stages_user_entrypoint() -> None:
    steps = instructions()
    froms = [args for _, name, args in steps if name == "FROM"]
    assert froms == ["python:3.11-slim AS build", "python:3.11-slim AS runtime"]
    runtime = [(name, args) for stage, name, args in steps if stage == "runtime"]
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime
    users = [args for name, args in runtime if name == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    env = " ".join(args for name, args in runtime if name == "ENV")
    assert "TERM=" in env
    assert "LANG=C.UTF-8" in env
    assert ("EXPOSE", "8080") in runtime
    assert any(
        name == "HEALTHCHECK" and "inspector.sample_app.healthcheck" in args
        for name, args in runtime
    )
    entrypoint = [json.loads(args) for name, args in runtime if name == "ENTRYPOINT"]
    assert entrypoint == [["session-inspector"]]
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert entrypoint[0][0] in scripts
    assert scripts[entrypoint[0][0]] == "inspector.cli:main"


def test_dockerignore_keeps_the_image_small() -> None:
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().split("\n")
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"  # nothing goes in unless listed
    # Everything the build stage COPYs is let back in.
    for step in [
        args for _, name, args in instructions() if name == "COPY" and "--from" not in args
    ]:
        for source in step.split()[:-1]:
            assert f"!{source}" in lines or f"!{source}/" in lines, source


def wheelhouse() -> Path:
    """The wheels `pip install .` needs (dependencies, the build backend, and uv for
    `make install`), downloaded once.

    pip spends most of a fresh install reading PyPI's index pages (aiohttp's and
    cryptography's list thousands of files): 21 CPU-s and 36 s for the Dockerfile's RUN
    step, where installing from local wheels takes ~10 CPU-s. The wheels are kept in the
    user's cache, like uv's, keyed by pyproject.toml and the interpreter, so a fresh clone
    on the same machine reuses them; made in a temporary directory and renamed, so
    concurrent runs never see half a wheelhouse.
    """
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    wanted = [*tomllib.loads(pyproject.decode())["build-system"]["requires"], "uv"]
    key = hashlib.sha256(pyproject + sysconfig.get_platform().encode() + sys.version.encode())
    key.update(" ".join(wanted).encode())
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    parent = cache / "redis-session-inspector" / "test-wheels"
    wheels = parent / key.hexdigest()[:16]
    if wheels.is_dir():
        return wheels
    parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent) as scratch:
        staged = Path(scratch) / "wheels"
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "-d", staged, str(ROOT), *wanted],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        try:
            staged.rename(wheels)
        except OSError:  # another run made it first
            assert wheels.is_dir()
    return wheels


@pytest.mark.slow
def test_dockerfile_install_commands_in_a_fresh_venv(tmp_path: Path) -> None:
    """Run the build stage's COPY and RUN steps as written, with /opt/venv moved to a temp dir.

    pip takes the dependencies from a local wheelhouse (PIP_NO_INDEX, PIP_FIND_LINKS) rather
    than from PyPI: what is checked is the Dockerfile (the COPYed files are enough to build
    the package, the venv gets a working command and health check), not PyPI's reachability.
    """
    pip_env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheelhouse())}
    source = tmp_path / "src"
    source.mkdir()
    venv = tmp_path / "venv"
    build = [(name, args) for stage, name, args in instructions() if stage == "build"]
    for name, args in build:
        if name == "COPY":
            *sources, _ = args.split()
            for item in sources:
                origin = ROOT / item
                if origin.is_dir():
                    shutil.copytree(
                        origin, source / item, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy2(origin, source / item)
        elif name == "RUN":
            command = args.replace("/opt/venv", str(venv))
            result = subprocess.run(
                ["bash", "-c", command],
                cwd=source,
                capture_output=True,
                text=True,
                timeout=600,
                env=pip_env,
            )
            assert result.returncode == 0, result.stderr[-3000:]
    version = subprocess.run(
        [venv / "bin" / "session-inspector", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert version.stdout.startswith("session-inspector ")
    health = subprocess.run(
        [venv / "bin" / "python", "-m", "inspector.sample_app.healthcheck"],
        env={"SAMPLE_APP_MARKER": str(tmp_path / "none")},
    )
    assert health.returncode == 0  # not running the sample app: healthy


# ---------------------------------------------------------------- make install, make demo


@pytest.mark.slow
def test_make_install_puts_the_command_on_path(tmp_path: Path) -> None:
    """The README's `make install` (without pipx) gives a working command on PATH.

    pip (installing uv) and uv take the packages from the local wheelhouse, offline: the
    Makefile's commands run as written, without waiting on PyPI.
    """
    prefix = tmp_path / "prefix"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    wheels = str(wheelhouse())
    env.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=wheels, UV_OFFLINE="1", UV_FIND_LINKS=wheels)
    env["PATH"] = f"{prefix / 'bin'}:{env['PATH']}"
    made = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "install", f"PREFIX={prefix}", "NO_PIPX=1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    found = shutil.which("session-inspector", path=env["PATH"])
    assert found == str(prefix / "bin" / "session-inspector")
    # From anywhere, not from the clone: the installed package, not the source tree.
    version = subprocess.run(
        ["session-inspector", "--version"], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("session-inspector ")
    unreachable = subprocess.run(
        ["session-inspector", "-p", str(free_port()), "ls"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert unreachable.returncode == 3, unreachable.stderr
    assert unreachable.stderr.count("\n") == 1
    assert "could not connect" in unreachable.stderr


def test_make_demo_installs_only_what_the_demo_needs(tmp_path: Path) -> None:
    """`make demo` on a fresh clone installs the package without the test toolchain and says so."""
    plan = subprocess.run(
        ["make", "-n", "-C", str(ROOT), "demo", f"VENV={tmp_path / 'venv'}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [line for line in plan.splitlines() if "uv pip install" in line]
    assert len(installs) == 1, plan
    assert installs[0].rstrip().endswith("-e ."), plan
    assert " -q" not in installs[0]  # uv's progress shows: no minutes of silence
    assert "first time only" in plan


# ---------------------------------------------------------------- health check


def start_sample_app(
    redis_port: int, name: str, port: int, marker: Path | None = None
) -> subprocess.Popen[bytes]:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    if marker is not None:
        env["SAMPLE_APP_MARKER"] = str(marker)
    return subprocess.Popen(
        [sys.executable, "-m", "inspector", "-p", str(redis_port), "sample-app",
         "--port", str(port), "--bind", "127.0.0.1", "--name", name],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_http(url: str, limit: float = 20.0) -> None:
    deadline = time.monotonic() + limit
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered"
        time.sleep(0.05)  # between two connection attempts to a starting server


def test_healthcheck(redis_clean: RedisServer, tmp_path: Path) -> None:
    marker = tmp_path / "port"
    check = [sys.executable, "-m", "inspector.sample_app.healthcheck"]
    env = {"SAMPLE_APP_MARKER": str(marker)}
    assert subprocess.run(check, env=env).returncode == 0  # no marker: not a web container
    port = free_port()
    app = start_sample_app(redis_clean.port, "container-1", port, marker)
    try:
        wait_http(f"http://127.0.0.1:{port}/health")
        assert marker.read_text() == str(port)
        assert subprocess.run(check, env=env).returncode == 0
    finally:
        app.terminate()
        assert app.wait(timeout=20) in (0, -15)  # graceful shutdown on SIGTERM
    assert subprocess.run(check, env=env).returncode == 1  # marker left, app gone: unhealthy


# ---------------------------------------------------------------- nginx and compose


def nginx_config(directory: Path, app1: str, app2: str, port: int) -> Path:
    """The repository's nginx files with compose's service names replaced by local addresses."""
    conf_d = directory / "conf.d"
    conf_d.mkdir(parents=True)
    default = (ROOT / "deploy" / "nginx" / "default.conf").read_text()
    default = default.replace("app1:8080", app1).replace("app2:8080", app2)
    default = default.replace("listen 80;", f"listen 127.0.0.1:{port};")
    default = default.replace("/etc/nginx/conf.d/proxy.inc", str(conf_d / "proxy.inc"))
    (conf_d / "default.conf").write_text(default)
    shutil.copy2(ROOT / "deploy" / "nginx" / "proxy.inc", conf_d / "proxy.inc")
    main = directory / "nginx.conf"
    main.write_text(
        f"pid {directory}/nginx.pid;\nerror_log {directory}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {directory}/body;\n"
        f"  proxy_temp_path {directory}/proxy;\n  include {conf_d}/default.conf;\n}}\n"
    )
    return main


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    config = nginx_config(tmp_path, "127.0.0.1:18081", "127.0.0.1:18082", free_port())
    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(config)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_compose_file_describes_the_topology() -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"redis", "app1", "app2", "lb", "inspector"}
    assert "KEA" in services["redis"]["command"]
    for name, container in (("app1", "container-1"), ("app2", "container-2")):
        command = services[name]["command"]
        assert command[0] == "sample-app"
        assert container in command
        assert services[name]["environment"]["REDISCLUSTERENDPOINT"] == "redis:6379"
    assert services["lb"]["ports"] == ["8080:80"]
    assert any("default.conf" in volume for volume in services["lb"]["volumes"])
    assert services["inspector"]["tty"] is True
    assert services["inspector"]["stdin_open"] is True


@pytest.fixture
def topology(redis_clean: RedisServer, tmp_path: Path) -> Iterator[int]:
    """compose.yaml as processes: redis-server, two sample apps, nginx in front."""
    apps: list[subprocess.Popen[bytes]] = []
    nginx: subprocess.Popen[bytes] | None = None
    try:
        ports = [free_port(), free_port()]
        for i, port in enumerate(ports):
            apps.append(start_sample_app(redis_clean.port, f"container-{i + 1}", port))
        lb_port = free_port()
        config = nginx_config(tmp_path, f"127.0.0.1:{ports[0]}", f"127.0.0.1:{ports[1]}", lb_port)
        nginx = subprocess.Popen(
            ["nginx", "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"],
            stderr=subprocess.PIPE,
        )
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/health")
        wait_http(f"http://127.0.0.1:{lb_port}/index.html")
        yield lb_port
    finally:
        # Signal everything first: one process slow to stop must not leave the others running.
        processes: list[subprocess.Popen[bytes]] = [*apps] if nginx is None else [nginx, *apps]
        for process in processes:
            process.terminate()
        for process in processes:
            process.communicate(timeout=20)


def test_paths_reach_different_containers_sharing_one_session(
    topology: int, redis_clean: RedisServer
) -> None:
    jar = CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{topology}"

    def page(path: str) -> str:
        with browser.open(base + path, timeout=10) as response:
            return str(response.read().decode())

    assert 'id="container">container-1<' in page("/index.html")  # default route: app1
    assert 'id="host">container-1<' in page("/1?containerGroup=1")
    session_cookie = [cookie.value for cookie in jar if cookie.name == "SESSION"]
    assert len(session_cookie) == 1
    assert 'id="host">container-2<' in page("/2?containerGroup=2")
    assert [
        cookie.value for cookie in jar if cookie.name == "SESSION"
    ] == session_cookie  # one session
    listed = inspector("-p", str(redis_clean.port), "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["host"] for row in rows] == ["container-2"]


def test_lb_routes_by_path_prefix_as_the_alb(topology: int) -> None:
    # The ALB's rules are /1* and /2*: a prefix, so /21 goes to the second group.
    def served_by(path: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{topology}{path}", timeout=10) as response:
            text = str(response.read().decode())
        found = re.search(r'id="host">([^<]+)<', text)
        assert found is not None, text
        return found.group(1)

    assert served_by("/21") == "container-2"
    assert served_by("/2") == "container-2"
    assert served_by("/12") == "container-1"
    assert served_by("/1") == "container-1"


# ---------------------------------------------------------------- ECS


def ecs(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "deploy" / "ecs" / name).read_text())
    return data


def test_ecs_sample_app_task() -> None:
    task = ecs("sample-app-task.json")
    assert int(str(task["memory"])) >= 1024
    assert int(str(task["cpu"])) >= 512
    (container,) = task["containerDefinitions"]
    assert "redis-session-inspector" in container["image"]
    assert container["command"][0] == "sample-app"
    assert {"containerPort": 8080, "hostPort": 0, "protocol": "tcp"} in container["portMappings"]
    assert {e["name"] for e in container["environment"]} == {"REDISCLUSTERENDPOINT"}
    assert container["memory"] >= 1024
    assert container["cpu"] >= 512
    health = container["healthCheck"]["command"]
    assert health[0] == "CMD"
    assert "inspector.sample_app.healthcheck" in health
    # The health check's module checks /health (the same route the ALB uses).
    assert '/health"' in (ROOT / "inspector" / "sample_app" / "healthcheck.py").read_text()
    assert container["logConfiguration"]["logDriver"] == "awslogs"


def test_ecs_inspector_task() -> None:
    task = ecs("inspector-task.json")
    (container,) = task["containerDefinitions"]
    assert container["essential"] is True
    assert "redis-session-inspector" in container["image"]
    assert {e["name"] for e in container["environment"]} == {"REDISCLUSTERENDPOINT"}
    assert container["logConfiguration"]["logDriver"] == "awslogs"
    assert shlex.join(container["command"]) == "ls --json"
