# dialerd as a container: the HTTP APIs, the console and the dialer (docs/operations.md,
# "Containers"). Postgres and Asterisk run elsewhere (docker-compose.yml has both); point
# DIALERD_DATABASE_URL and DIALERD_AMI_* at them. Everything comes from this repository's files,
# Debian's packages, PyPI and npm, as scripts/setup.sh installs them.

# The console's front-end libraries, from npm as package-lock.json pins them, with Debian's npm.
# npm and pip trust the base's CA store (Debian's ca-certificates and any local CA added to
# it, e.g. a TLS-inspecting proxy's) rather than their own bundles.
FROM debian:bookworm-slim AS assets
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
       ca-certificates nodejs npm
ENV npm_config_cafile=/etc/ssl/certs/ca-certificates.crt
WORKDIR /assets
COPY package.json package-lock.json ./
# --ignore-scripts: the libraries need none (swagger-ui-dist pulls in @scarf/scarf, whose
# install script would report the install to its vendor).
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error

# The package in a virtualenv of Debian's python3 (3.11), at the path it keeps in the image.
FROM debian:bookworm-slim AS python
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
       ca-certificates python3 python3-venv
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
RUN python3 -m venv /opt/dialerd/venv
WORKDIR /src
COPY pyproject.toml ./
COPY dialerd ./dialerd
RUN /opt/dialerd/venv/bin/pip install --no-cache-dir --no-compile . \
    && /opt/dialerd/venv/bin/python -m compileall -q /opt/dialerd/venv/lib

FROM debian:bookworm-slim
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --home-dir /opt/dialerd --no-create-home \
       --shell /usr/sbin/nologin dialerd
COPY --from=python /opt/dialerd/venv /opt/dialerd/venv
COPY --from=assets /assets/node_modules /opt/dialerd/node_modules
COPY sql /opt/dialerd/sql
ENV PATH=/opt/dialerd/venv/bin:$PATH \
    DIALERD_SQL_DIR=/opt/dialerd/sql \
    DIALERD_ASSETS_DIR=/opt/dialerd/node_modules \
    DIALERD_HTTP_HOST=0.0.0.0 \
    DIALERD_HTTP_PORT=8080 \
    DIALERD_LOG_FORMAT=json
USER dialerd
WORKDIR /opt/dialerd
EXPOSE 8080/tcp
# Migrations are idempotent, so every start applies what is missing before serving.
CMD ["sh", "-c", "dialerd migrate && exec dialerd serve"]
