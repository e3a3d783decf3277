#!/usr/bin/env bash
# Installs what dialerd needs on a fresh Debian machine, idempotently: the PostgreSQL server
# binaries (for a private cluster), a virtualenv with the package, and the console's front-end
# libraries from npm (pinned by package-lock.json; served from node_modules, never a CDN).
# With --browser also Debian's Chromium, which the console's browser tests drive. tcpdump: the lab
# tests capture the RTP that reaches the lab's phones with it; systemd-analyze checks the unit and
# docker-compose the compose file (neither needs a running systemd or Docker daemon).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v npm >/dev/null || missing+=(nodejs npm)
command -v tcpdump >/dev/null || missing+=(tcpdump)
command -v systemd-analyze >/dev/null || missing+=(systemd)  # checks the service unit
command -v docker-compose >/dev/null || missing+=(docker-compose)  # checks the compose file
if [ "${1:-}" = --browser ]; then command -v chromium >/dev/null || missing+=(chromium); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Reinstall the package only when its declared dependencies changed.
stamp=.venv/.dialerd-deps
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python dependencies into .venv" >&2
  python3 -m venv .venv
  # pip's warnings about this machine's unused local index entries are noise.
  .venv/bin/pip install -q --upgrade pip 2>&1 | { grep -v '^WARNING: Location' || true; } >&2
  .venv/bin/pip install -q -e '.[dev]' 2>&1 | { grep -v -e '^WARNING: Location' || true; } >&2
  echo "$want" >"$stamp"
fi

stamp=node_modules/.dialerd-lock
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing the console's front-end libraries (npm ci)" >&2
  # --ignore-scripts: the libraries need none (swagger-ui-dist pulls in @scarf/scarf, whose
  # install script would report the install to its vendor).
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
fi
