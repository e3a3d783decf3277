#!/usr/bin/env bash
# Proof that the compose stack places a real call (docs/operations.md, "Containers"): builds the
# three images, starts docker-compose.yml, lets a sipp far end (the trunk) and a sipp agent
# phone (registered to the container's Asterisk) on the host take part, pushes one call task
# through the REST API and checks the attempt's history row (CONNRES, cause, agent, times).
# Prints a summary; takes the stack down unless --keep (then: docker-compose -p dialerd-proof).
#   sudo scripts/compose_proof.sh [--keep]
# It installs what is missing with apt (docker.io, docker-compose, debootstrap, sip-tester),
# starts dockerd without its bridge network if none answers (every container is on the host's
# network), and, when no image debian:bookworm-slim is there and none can be pulled, makes that
# base with debootstrap from this machine's own Debian mirror. The first Asterisk build takes as
# long as the lab's (8-14 minutes on a quiet 2-core machine, far longer on a busy one); docker's
# layer cache makes later runs quick.
# Knobs (env): PROOF_DIR (<repo>/.compose-proof: settings, the site's Asterisk files, logs),
# PROOF_HTTP_PORT (38080), PROOF_PG_PORT (35432), PROOF_AMI_PORT (35038), PROOF_SIP_PORT
# (35060: Asterisk on 127.0.0.1, the far end on 127.0.5.1, the agent's phone on 127.0.5.2),
# PROOF_RTP_START/PROOF_RTP_END (35100/35199). The defaults stay clear of the lab's and its
# tests' ports (5038/5060, 15038+100k/15060+100k, RTP 20000-29999).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keep=no
case "${1:-}" in
  --keep) keep=yes ;;
  "") ;;
  *) printf 'usage: %s [--keep]\n' "$0" >&2 && exit 2 ;;
esac

work="${PROOF_DIR:-$repo/.compose-proof}"
http_port="${PROOF_HTTP_PORT:-38080}"
pg_port="${PROOF_PG_PORT:-35432}"
ami_port="${PROOF_AMI_PORT:-35038}"
sip_port="${PROOF_SIP_PORT:-35060}"
rtp_start="${PROOF_RTP_START:-35100}"
rtp_end="${PROOF_RTP_END:-35199}"
farend_ip=127.0.5.1
agent_ip=127.0.5.2
media_port=$((sip_port + 2))
base=http://127.0.0.1:$http_port

log() { printf '[compose_proof] %s\n' "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}
[[ "$(id -u)" -eq 0 ]] || die "run as root (sudo): it installs packages and runs dockerd"

now_s() { date +%s.%N; }
took() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now_s)"; }

# Runs the command every 0.5 s until it succeeds; fails after `seconds`.
poll() { # seconds command...
  local deadline=$(($(date +%s) + $1))
  until "${@:2}"; do
    (($(date +%s) < deadline)) || return 1
    sleep 0.5
  done
}

missing=()
for pkg in docker.io docker-compose debootstrap sip-tester python3 curl iproute2; do
  [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" == "install ok installed" ]] ||
    missing+=("$pkg")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
    --no-install-recommends "${missing[@]}" >&2
fi

mkdir -p "$work/log" "$work/site" "$work/sipp"
# The daemon's default bridge would put containers on a private 172.17.x network; here all
# traffic stays on the host's loopback, so it runs without one.
if ! docker info >/dev/null 2>&1; then
  ip link show docker0 >/dev/null 2>&1 && ip link delete docker0
  log "starting dockerd (--bridge=none; log $work/log/dockerd.log)"
  nohup setsid dockerd --bridge=none --iptables=false --ip-masq=false \
    </dev/null >>"$work/log/dockerd.log" 2>&1 &
  poll 60 docker info >/dev/null 2>&1 || die "dockerd did not answer within 60 s"
fi

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1 &&
  ! docker pull debian:bookworm-slim >/dev/null 2>&1; then
  mirror="$("$repo/scripts/debian_mirror.sh")" || die "no Debian mirror in the apt sources"
  log "no registry: making debian:bookworm-slim with debootstrap from $mirror"
  rootfs="$(mktemp -d /var/tmp/dialerd-base.XXXXXX)"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/log/debootstrap.log" 2>&1 ||
    die "debootstrap failed (see $work/log/debootstrap.log)"
  # The machine's own apt Acquire settings (a proxy; a snapshot mirror's date checks off) and
  # local CAs (a TLS-inspecting proxy's), so that apt, pip and npm inside the builds reach
  # their archives as the host's do. apt's hooks stay behind.
  for conf in /etc/apt/apt.conf.d/*; do
    if grep -q '^Acquire::' "$conf" && ! grep -q 'Invoke' "$conf"; then
      cp "$conf" "$rootfs/etc/apt/apt.conf.d/"
    fi
  done
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp -r /usr/local/share/ca-certificates/. "$rootfs/usr/local/share/ca-certificates/"
  tar -C "$rootfs" -c . | docker import - debian:bookworm-slim >/dev/null
  rm -rf "$rootfs"
fi

for port in "$http_port" "$pg_port" "$ami_port"; do
  [[ -z "$(ss -Hltn "sport = :$port")" ]] || die "TCP port $port is in use (see the PROOF_* knobs)"
done
for addr in "127.0.0.1:$sip_port" "$farend_ip:$sip_port" "$agent_ip:$sip_port"; do
  [[ -z "$(ss -Hlun "src $addr")" ]] || die "UDP $addr is in use (PROOF_SIP_PORT)"
done

# The settings a compose user gives (docker/compose.env.example) and the site's Asterisk files:
# one agent, agent1, whose phone registers with a password, in the campaign queue `proof`.
secret() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }
agent_password="$(secret)"
cat >"$work/compose.env" <<EOF
POSTGRES_PASSWORD=$(secret)
POSTGRES_PORT=$pg_port
DIALERD_AMI_SECRET=$(secret)
DIALERD_HTTP_PORT=$http_port
ASTERISK_AMI_PORT=$ami_port
ASTERISK_SIP_BIND=127.0.0.1:$sip_port
ASTERISK_RTP_START=$rtp_start
ASTERISK_RTP_END=$rtp_end
ASTERISK_TRUNK=$farend_ip:$sip_port
ASTERISK_SITE_DIR=$work/site
EOF
chmod 0600 "$work/compose.env"
cat >"$work/site/pjsip_agents.conf" <<EOF
[agent1](dialerd-agent-aor)
[agent1](dialerd-agent-auth)
username = agent1
password = $agent_password
[agent1](dialerd-agent)
auth = agent1
aors = agent1
EOF
printf '[proof](dialerd-campaign)\nmember => PJSIP/agent1,0,agent1\n' >"$work/site/queues_campaigns.conf"
# read by the container's asterisk user
chmod 0755 "$work/site" && chmod 0644 "$work/site"/*.conf

compose() { docker-compose -p dialerd-proof --env-file "$work/compose.env" -f "$repo/docker-compose.yml" "$@"; }
in_asterisk() { compose exec -T asterisk asterisk -C /etc/asterisk/asterisk.conf -rx "$*"; }

sipps=()
teardown() {
  local pid
  for pid in "${sipps[@]}"; do
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == sipp ]] && kill "$pid"
  done
  if [[ "$keep" == yes ]]; then
    log "kept: docker-compose -p dialerd-proof --env-file $work/compose.env ps"
  else
    compose logs --no-color >"$work/log/compose.log" 2>&1 || true
    compose down --volumes >/dev/null 2>&1 || true
  fi
}
trap teardown EXIT

t0="$(now_s)"
log "building the images (log $work/log/build.log)"
compose build >"$work/log/build.log" 2>&1 || {
  tail -n 30 "$work/log/build.log" >&2
  die "docker-compose build failed"
}
build_s="$(took "$t0")"

t1="$(now_s)"
compose up -d >&2
healthy() {
  local service id
  for service in postgres asterisk dialerd; do
    id="$(compose ps -q "$service")"
    [[ -n "$id" && "$(docker inspect -f '{{.State.Health.Status}}' "$id")" == healthy ]] || return 1
  done
}
poll 240 healthy || {
  compose ps >&2
  die "the services were not all healthy within 240 s"
}
healthy_s="$(took "$t1")"
log "postgres, asterisk and dialerd healthy after $healthy_s s"

start_sipp() { # name ip sipp-arguments...
  local name="$1" ip="$2" out="$work/log/sipp-$1.out" pid
  (cd "$work/log" && sipp "${@:3}" -i "$ip" -p "$sip_port" -mi "$ip" -mp "$media_port" -t u1 -bg \
    -trace_err -error_file "$work/log/sipp-$name-errors.log" </dev/null >"$out" 2>&1) || true
  pid="$(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$out" | tail -n1)"
  [[ -n "$pid" ]] || die "sipp $name did not start: $(tail -n 5 "$out")"
  sipps+=("$pid")
}
# The far end answers after about 1 s of ringing (a number ending in 0); the agent talks 2 s.
sed -e "s|@PCAP_DIR@|$repo/asterisk_conf/lab/audio|g" "$repo/asterisk_conf/lab/sipp/farend.xml.in" \
  >"$work/sipp/farend.xml"
sed -e "s|@TALK_MS@|2000|g" "$repo/asterisk_conf/lab/sipp/agent.xml.in" >"$work/sipp/agent.xml"
start_sipp farend "$farend_ip" -sf "$work/sipp/farend.xml"
start_sipp agent1 "$agent_ip" "127.0.0.1:$sip_port" -sf "$repo/asterisk_conf/lab/sipp/register.xml" \
  -oocsf "$work/sipp/agent.xml" -s agent1 -au agent1 -ap "$agent_password" -m 1
# (the output is read first: grep -q leaving early would fail the pipe under pipefail)
agent_ready() { [[ "$(in_asterisk 'queue show proof' 2>/dev/null)" == *'(PJSIP/agent1)'*'(Not in use)'* ]]; }
poll 30 agent_ready || {
  in_asterisk 'pjsip show contacts' >&2 || true
  die "agent1's phone did not register and show Not in use in queue proof within 30 s"
}
log "agent1's phone registered from $agent_ip:$sip_port: $(in_asterisk 'pjsip show contacts' | grep -o 'agent1/sip:[^ ]*' | head -n1)"

token="$(compose exec -T dialerd dialerd token create --client 1 | tr -d '\r\n')"
compose exec -T dialerd dialerd system add PROOF >&2
api() { # method path [json body]
  curl -sS --fail-with-body -X "$1" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} "$base$2"
}
stamp="$(date -u +%Y%m%dT%H%M%S)"
campaign="$(api POST /dialler/campaigns "{\"Name\": \"compose proof $stamp\", \"Queue\": \"proof\",
  \"DialString\": \"PJSIP/{number}@dialerd-trunk\", \"CallerID\": \"+4930123499\",
  \"DialMode\": \"progressive\", \"WindowStart\": \"00:00\", \"WindowEnd\": \"23:59\",
  \"WindowDays\": [1, 2, 3, 4, 5, 6, 7]}")" || die "campaign: $campaign"
campaign_id="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["records"][0]["ID"])' <<<"$campaign")"
t2="$(now_s)"
imported="$(api POST /itxdialer/calltaskimport "{\"systemCode\": \"PROOF\", \"callCode\": $campaign_id,
  \"maxCallAttempts\": 1, \"minCallIntervalHours\": 1, \"callTasks\": [{\"callReceiverName\":
  \"Compose proof\", \"extCustId\": \"proof-$stamp\", \"callNumberList\": [\"+4930123400\"]}]}")" ||
  die "calltask import: $imported"
log "campaign $campaign_id, one call task imported: $imported"

history() { api GET "/dialler/contacts/contact/history?userData=proof-$stamp"; }
closed() { [[ "$(history)" =~ \"Status\":\ *\"closed\" ]]; }
poll 60 closed || die "no closed attempt 60 s after the import: $(history)"
wait_s="$(took "$t2")"

python3 - "$(history)" "$build_s" "$healthy_s" "$wait_s" <<'PY'
import json
import sys
from datetime import datetime

row = json.loads(sys.argv[1])["records"][0]
build_s, healthy_s, wait_s = sys.argv[2:5]
times = ["dtCallStart", "dtCallAlert", "dtCallConnect", "dtAgentConnect", "dtCallEnd"]
at = {k: datetime.fromisoformat(row[k]) for k in times if row.get(k)}
problems = [f"{k} is missing" for k in times if k not in at]
problems += [
    f"{a} {row[a]} is after {b} {row[b]}"
    for a, b in zip(times, times[1:], strict=False)
    if a in at and b in at and at[a] > at[b]
]
want = {"CONNRES": 1, "CauseCodesID": 16, "Agent": "PJSIP/agent1", "bAbandoned": False}
problems += [f"{k} is {row.get(k)!r}, not {v!r}" for k, v in want.items() if row.get(k) != v]
print(f"compose proof, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
print(f"  images built in {build_s} s; postgres, asterisk, dialerd healthy {healthy_s} s after up")
print(f"  import -> attempt closed in its history: {wait_s} s")
print(f"  history row: CONNRES {row.get('CONNRES')}, cause {row.get('CauseCodesID')},"
      f" agent {row.get('Agent')}, number {row.get('PhoneNumber')}, abandoned {row.get('bAbandoned')}")
if not problems:
    ms = {k: (at[k] - at["dtCallStart"]).total_seconds() for k in times}
    print("  from the call's start: " + ", ".join(f"{k} +{v:.2f} s" for k, v in ms.items() if v))
    connect = (at["dtAgentConnect"] - at["dtCallConnect"]).total_seconds() * 1000
    print(f"  answer -> agent: {connect:.0f} ms")
print("  " + json.dumps(row, sort_keys=True))
if problems:
    print("FAILED: " + "; ".join(problems))
    sys.exit(1)
print("OK: the call was answered by the far end and bridged to agent1")
PY
