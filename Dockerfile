# The opsgate control plane: API, web console and decision service for connected hooks.
#
#   docker build -t opsgate .                       (or: podman build -t opsgate .)
#   docker run -p 8470:8470 -v opsgate:/var/lib/opsgate opsgate
#
# Configured by OPSGATE_* variables (docs/deploy.md): OPSGATE_DATABASE_URL for
# PostgreSQL, OPSGATE_AUDIT_KEY for a signing key shared by replicas,
# OPSGATE_PUBLIC_URL for card links, OPSGATE_LOG_FORMAT=json for a log pipeline.
#
# Debian's own Python (3.11 on bookworm), so the image builds from Debian's
# packages and PyPI alone.  BASE may name a mirror of the same Debian release.
ARG BASE=docker.io/library/debian:bookworm-slim

# --- build: a virtual environment with opsgate and the runtime extras only ----------
FROM ${BASE} AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md LICENSE constraints.txt ./
COPY bin ./bin
COPY src ./src
# The exact versions CI tests (constraints.txt); no dev tools, no MCP SDK (`opsgate
# mcp` runs beside an agent, not in this service).
RUN python3 -m venv /opt/opsgate \
    && /opt/opsgate/bin/pip install --no-cache-dir --upgrade -c constraints.txt pip \
    && /opt/opsgate/bin/pip install --no-cache-dir -c constraints.txt \
        ".[server,postgres,execute]" \
    && /opt/opsgate/bin/python -m compileall -q /opt/opsgate/lib \
    && /opt/opsgate/bin/opsgate --help > /dev/null

# --- runtime: the interpreter, the environment, a user without privileges -----------
FROM ${BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 opsgate \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/opsgate \
        --no-create-home --shell /usr/sbin/nologin opsgate \
    && install -d -m 0700 -o opsgate -g opsgate /var/lib/opsgate
COPY --from=build /opt/opsgate /opt/opsgate
# The address and port are settings, not flags of the command, so that one `-e
# OPSGATE_PORT=…` moves both the server and the health check below.
ENV PATH=/opt/opsgate/bin:$PATH \
    OPSGATE_HOME=/var/lib/opsgate \
    OPSGATE_HOST=0.0.0.0 \
    OPSGATE_PORT=8470 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/opsgate
# The data directory: SQLite database, audit log and signing key (when
# OPSGATE_DATABASE_URL and OPSGATE_AUDIT_KEY do not point elsewhere).
VOLUME ["/var/lib/opsgate"]
EXPOSE 8470
# Ready = the database answers and the audit log can be written (docs/scale-out.md).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, sys, urllib.request; port = os.environ.get('OPSGATE_PORT', '8470'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=2).status != 200)"]
# Behind a TLS-terminating proxy set OPSGATE_PUBLIC_URL to its https:// address.
CMD ["opsgate", "serve"]
