#!/usr/bin/env bash
# Installs dialerd as a systemd service from this checkout, idempotently (docs/operations.md):
# a system user dialerd, the package in its own virtualenv under PREFIX (/opt/dialerd), the SQL
# and the console's front-end libraries next to it, the settings in CONF/dialerd.env (/etc/dialerd;
# written once, never overwritten) and the unit /etc/systemd/system/dialerd.service, checked with
# systemd-analyze verify. Where systemd runs the machine, the service is enabled; it is started
# once the settings file says where Postgres and Asterisk are (--start starts it now).
#   sudo scripts/install_service.sh [--start]
# Knobs (env): PREFIX, CONF, UNIT_DIR (/etc/systemd/system).
# The virtualenv is made with Debian's /usr/bin/python3: one under a user's home (pyenv, say)
# is unreachable for the service user and behind the unit's ProtectHome.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="${PREFIX:-/opt/dialerd}"
conf="${CONF:-/etc/dialerd}"
unit_dir="${UNIT_DIR:-/etc/systemd/system}"
start=no
[ "${1:-}" = --start ] && start=yes
log() { printf '[install_service] %s\n' "$*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "run as root (sudo)"; exit 1; }

id dialerd >/dev/null 2>&1 || useradd --system --home-dir "$prefix" --no-create-home \
  --shell /usr/sbin/nologin dialerd

umask 022
if ! /usr/bin/python3 -c 'import venv, ensurepip' 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null

log "installing the package into $prefix/venv"
install -d -m 0755 "$prefix"
[ -x "$prefix/venv/bin/python" ] || /usr/bin/python3 -m venv "$prefix/venv"
"$prefix/venv/bin/pip" install -q --upgrade pip 2>&1 | { grep -v '^WARNING: Location' || true; } >&2
"$prefix/venv/bin/pip" install -q "$repo" 2>&1 | { grep -v '^WARNING: Location' || true; } >&2
rm -rf "$prefix/sql" && cp -r "$repo/sql" "$prefix/sql"
install -m 0644 "$repo/README.md" "$prefix/README.md"
(cd "$repo" && npm ci --no-audit --no-fund --silent)
rm -rf "$prefix/node_modules" && cp -r "$repo/node_modules" "$prefix/node_modules"

fill() { sed -e "s|@PREFIX@|$prefix|g" -e "s|@CONF@|$conf|g" "$1"; }
install -d -m 0750 -g dialerd "$conf"
if [ ! -e "$conf/dialerd.env" ]; then
  fill "$repo/packaging/dialerd.env.in" >"$conf/dialerd.env"
  chown root:dialerd "$conf/dialerd.env" && chmod 0640 "$conf/dialerd.env"
  log "wrote $conf/dialerd.env: set the database URL and the AMI secret there"
fi
install -d "$unit_dir"
fill "$repo/packaging/dialerd.service.in" >"$unit_dir/dialerd.service"
systemd-analyze verify "$unit_dir/dialerd.service"
log "installed $unit_dir/dialerd.service (systemd-analyze verify: no complaints)"

if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then
  systemctl daemon-reload
  systemctl enable dialerd.service
  [ "$start" = yes ] && systemctl restart dialerd.service && systemctl --no-pager status dialerd.service
else
  log "systemd does not run this machine: the unit is installed, not enabled"
fi
