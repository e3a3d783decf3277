#!/usr/bin/env bash
# Writes Asterisk's configuration for dialerd's container (docs/operations.md, "Containers"): the
# container's own files (docker/asterisk/conf: asterisk.conf, logger.conf, rtp.conf, modules.conf
# and a PBX's pjsip.conf, extensions.conf, queues.conf, musiconhold.conf, manager.conf, each
# #include-ing dialerd's snippets as asterisk_conf/README.md tells an operator), the snippets
# (asterisk_conf/*_dialerd.conf, amd.conf), then the site's files (the agents' phones,
# pjsip_agents.conf, and the campaigns' queues, queues_campaigns.conf, both required; any other
# file replaces the image's), then the settings from the environment: into the host files (the
# AMI's port and address, the transport, RTP ports) and what the README's install steps have an
# operator fill in the snippets (the trunk's address and credentials, the AMI user's secret and
# permit). It refuses to write a configuration that still holds a template's CHANGE-ME.
#   render_config.sh <templates dir> <site dir> <output dir>
# Environment (defaults in brackets):
#   DIALERD_AMI_SECRET       the AMI secret of the user dialerd (required; dialerd's own setting)
#   ASTERISK_AMI_PORT [5038]  ASTERISK_AMI_BIND [127.0.0.1]
#   ASTERISK_AMI_PERMIT [127.0.0.1/255.255.255.255]   where dialerd may log in from
#   ASTERISK_SIP_BIND [0.0.0.0:5060]                   the UDP transport
#   ASTERISK_TRUNK           the carrier, host[:port] (required)
#   ASTERISK_TRUNK_MATCH     the address its calls come from [the host of ASTERISK_TRUNK]
#   ASTERISK_TRUNK_USERNAME / ASTERISK_TRUNK_PASSWORD  without a username the trunk is
#                            authenticated by its address (no auth section, no outbound_auth)
#   ASTERISK_RTP_START [10000]  ASTERISK_RTP_END [20000]
set -euo pipefail
templates="$1" site="$2" out="$3"

die() {
  printf 'render_config: %s\n' "$*" >&2
  exit 1
}

# A value goes into a `key = value` line: no blanks, no comment character, nothing to break the
# line or this script's records.
value() { # name [default]
  local v="${!1:-${2-}}"
  [[ -n "$v" ]] || die "$1 is not set"
  [[ "$v" =~ ^[^[:space:]\;]+$ ]] || die "$1 may not contain blanks or ';'"
  printf '%s' "$v"
}
port() { # name default
  local v
  v="$(value "$1" "$2")"
  [[ "$v" =~ ^[0-9]+$ ]] && ((v >= 1 && v <= 65535)) || die "$1 must be a port number (got '$v')"
  printf '%s' "$v"
}

# Edits one file: each edit names a section by its [name] and its `type =` ("" for a file whose
# sections have none) and sets a key's value, drops a key, or drops the whole section. Each
# edit must match exactly once, so that a changed template fails here rather than at a call.
edit() { # file edit... (each: set|drop <TAB> section <TAB> type <TAB> key <TAB> value)
  local file="$1" edits
  shift
  edits="$(printf '%s\n' "$@")"
  EDITS="$edits" awk -F'\t' '
    BEGIN {
      n = split(ENVIRON["EDITS"], lines, "\n")
      for (i = 1; i <= n; i++) {
        split(lines[i], f, "\t")
        op[i] = f[1]; sec[i] = f[2]; typ[i] = f[3]; key[i] = f[4]; val[i] = f[5]; hits[i] = 0
      }
    }
    function keyof(line,   k) {
      if (line !~ /^[ \t]*[A-Za-z0-9_]+[ \t]*=/ || line ~ /=>/) return ""
      k = line; sub(/[ \t]*=.*/, "", k); gsub(/[ \t]/, "", k); return k
    }
    function flush(   i, j, k, t, gone) {
      t = ""
      for (j = 2; j <= nbuf; j++) if (keyof(buf[j]) == "type") {
        t = buf[j]; sub(/^[^=]*=[ \t]*/, "", t); sub(/[ \t]*(;.*)?$/, "", t)
      }
      gone = 0
      for (i = 1; i <= n; i++) if (op[i] == "drop" && key[i] == "" && sec[i] == name && typ[i] == t) {
        hits[i]++; gone = 1
      }
      for (j = 1; j <= nbuf && !gone; j++) {
        k = j > 1 || name == "" ? keyof(buf[j]) : ""
        for (i = 1; i <= n && k != ""; i++) if (key[i] == k && sec[i] == name && typ[i] == t) {
          hits[i]++
          if (op[i] == "set") buf[j] = k " = " val[i]; else buf[j] = "\001"
        }
        if (buf[j] != "\001") print buf[j]
      }
      nbuf = 0
    }
    /^\[/ { flush(); name = $0; sub(/^\[/, "", name); sub(/\].*/, "", name) }
    { buf[++nbuf] = $0 }
    END {
      flush()
      for (i = 1; i <= n; i++) if (hits[i] != 1) {
        printf "render_config: %s: [%s] (type %s) %s matched %d times, not once\n", FILENAME,
          sec[i], typ[i] == "" ? "none" : typ[i], key[i] == "" ? "the section" : key[i], hits[i] > "/dev/stderr"
        bad = 1
      }
      exit bad
    }' "$file" >"$file.new" || die "the templates no longer have what the settings go into"
  mv "$file.new" "$file"
}
tab=$'\t'

secret="$(value DIALERD_AMI_SECRET)"
ami_port="$(port ASTERISK_AMI_PORT 5038)"
ami_bind="$(value ASTERISK_AMI_BIND 127.0.0.1)"
ami_permit="$(value ASTERISK_AMI_PERMIT 127.0.0.1/255.255.255.255)"
sip_bind="$(value ASTERISK_SIP_BIND 0.0.0.0:5060)"
trunk="$(value ASTERISK_TRUNK)"
trunk_match="$(value ASTERISK_TRUNK_MATCH "${trunk%:*}")"
rtp_start="$(port ASTERISK_RTP_START 10000)"
rtp_end="$(port ASTERISK_RTP_END 20000)"
((rtp_start < rtp_end)) || die "ASTERISK_RTP_START must be below ASTERISK_RTP_END"

for conf in pjsip_agents.conf queues_campaigns.conf; do
  [[ -f "$site/$conf" ]] || die "the site directory has no $conf (pjsip.conf and queues.conf include it)"
done
mkdir -p "$out"
find "$out" -mindepth 1 -delete
cp "$templates"/*.conf "$out/"
cp "$site"/*.conf "$out/"

edit "$out/manager.conf" \
  "set${tab}general${tab}${tab}port${tab}$ami_port" \
  "set${tab}general${tab}${tab}bindaddr${tab}$ami_bind"
edit "$out/manager_dialerd.conf" \
  "set${tab}dialerd${tab}${tab}secret${tab}$secret" \
  "set${tab}dialerd${tab}${tab}permit${tab}$ami_permit"

edit "$out/pjsip.conf" "set${tab}transport-udp${tab}transport${tab}bind${tab}$sip_bind"
trunk_edits=(
  "set${tab}dialerd-trunk${tab}aor${tab}contact${tab}sip:$trunk"
  "set${tab}dialerd-trunk${tab}identify${tab}match${tab}$trunk_match"
)
if [[ -n "${ASTERISK_TRUNK_USERNAME:-}" ]]; then
  trunk_edits+=(
    "set${tab}dialerd-trunk${tab}auth${tab}username${tab}$(value ASTERISK_TRUNK_USERNAME)"
    "set${tab}dialerd-trunk${tab}auth${tab}password${tab}$(value ASTERISK_TRUNK_PASSWORD)"
  )
else
  trunk_edits+=(
    "drop${tab}dialerd-trunk${tab}auth${tab}"
    "drop${tab}dialerd-trunk${tab}endpoint${tab}outbound_auth"
  )
fi
edit "$out/pjsip_dialerd.conf" "${trunk_edits[@]}"

edit "$out/rtp.conf" \
  "set${tab}general${tab}${tab}rtpstart${tab}$rtp_start" \
  "set${tab}general${tab}${tab}rtpend${tab}$rtp_end"

if left="$(grep -n 'CHANGE-ME' "$out"/*.conf)"; then
  die "still a template's CHANGE-ME (give the file in the site directory, or the setting):
$left"
fi
