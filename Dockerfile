# syntax=docker/dockerfile:1
# session-inspector: the TUI/CLI (default) and the sample app, in one small image.
#   docker run -it --rm IMAGE -h <elasticache-endpoint> [--tls] [-c]
#   docker run -e REDISCLUSTERENDPOINT=... -p 8080:8080 IMAGE sample-app --port 8080

# ---- build: install the package and its dependencies into a venv -------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY inspector ./inspector
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --no-cache-dir .

# ---- runtime: the venv only, as an unprivileged user ---------------------------
FROM python:3.11-slim AS runtime
LABEL org.opencontainers.image.title="redis-session-inspector" \
      org.opencontainers.image.description="What is in a Spring session on Redis, and which container served it" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /opt/venv /opt/venv
# A UTF-8, 256-colour terminal for the TUI over `docker run -it` (add
# `-e COLORTERM=truecolor` when yours has 24-bit colour); unbuffered logs for ECS.
ENV PATH="/opt/venv/bin:$PATH" \
    TERM=xterm-256color \
    LANG=C.UTF-8 \
    LC_ALL=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SAMPLE_APP_BIND=0.0.0.0
# The sample app listens on loopback by default; in the container it must take
# the load balancer's requests, so it listens on every interface (SAMPLE_APP_BIND).
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin inspector
USER inspector
WORKDIR /home/inspector
EXPOSE 8080
# Checks the sample app's /health when the container runs it; healthy otherwise.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-m", "inspector.sample_app.healthcheck"]
ENTRYPOINT ["session-inspector"]
