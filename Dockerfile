# dialerd as a container: the HTTP APIs, the console and the dialer. Postgres and Asterisk run
# elsewhere; point DIALERD_DATABASE_URL and DIALERD_AMI_* at them.

# The console's front-end libraries, from npm as package-lock.json pins them.
FROM node:20-bookworm-slim AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
# --ignore-scripts: the libraries need none (swagger-ui-dist pulls in @scarf/scarf, whose
# install script would report the install to its vendor).
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim-bookworm

RUN useradd --system --home /app dialerd
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dialerd ./dialerd
COPY sql ./sql
RUN pip install --no-cache-dir .
COPY --from=assets /assets/node_modules ./node_modules

ENV DIALERD_SQL_DIR=/app/sql \
    DIALERD_ASSETS_DIR=/app/node_modules \
    DIALERD_HTTP_HOST=0.0.0.0 \
    DIALERD_HTTP_PORT=8080 \
    DIALERD_LOG_FORMAT=json
USER dialerd
EXPOSE 8080
# Migrations are idempotent, so every start applies what is missing before serving.
CMD ["sh", "-c", "dialerd migrate && exec dialerd serve"]
