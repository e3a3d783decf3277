#!/usr/bin/env bash
# dialerd's Asterisk container: writes /etc/asterisk from the templates, the site's files
# (/etc/asterisk-site, mounted) and the environment (render_config.sh says which settings),
# then runs Asterisk in the foreground as the container's main process.
set -euo pipefail
render_config.sh /usr/share/dialerd/asterisk_conf /etc/asterisk-site /etc/asterisk
exec asterisk -C /etc/asterisk/asterisk.conf -f -n "$@"
