#!/usr/bin/env bash
# dialerd PBX lab: Asterisk (cached build) + a sipp far end + sipp agent phones,
# all on loopback addresses, all state under LAB_DIR. See asterisk_conf/lab/README.md.
#
#   scripts/lab.sh up      build (cached), configure, start, print KEY=value lines
#   scripts/lab.sh down    stop what `up` started (idempotent)
#   scripts/lab.sh status  show what runs; prints KEY=value lines when up
#
# Knobs (env): LAB_DIR (<repo>/.lab), LAB_AMI_PORT (5038), LAB_SIP_PORT (5060),
# LAB_AGENTS (3), LAB_TALK_TIME (5 s), LAB_WRAPUP (2 s), LAB_BENCH_AGENTS (20),
# LAB_BENCH_TALK (1 s), LAB_RTP_START/LAB_RTP_END (20000/29999),
# LAB_AMI_USERNAME (dialerd), LAB_AMI_SECRET (random, kept per LAB_DIR).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
conf_src="$repo/asterisk_conf"

lab_dir="${LAB_DIR:-$repo/.lab}"
ami_port="${LAB_AMI_PORT:-5038}"
sip_port="${LAB_SIP_PORT:-5060}"
agents="${LAB_AGENTS:-3}"
talk_time="${LAB_TALK_TIME:-5}"
wrapup="${LAB_WRAPUP:-2}"
bench_agents="${LAB_BENCH_AGENTS:-20}"
bench_talk="${LAB_BENCH_TALK:-1}"
rtp_start="${LAB_RTP_START:-20000}"
rtp_end="${LAB_RTP_END:-29999}"
ami_user="${LAB_AMI_USERNAME:-dialerd}"
# sipp's RTP socket: off the SIP port so two labs on the same IPs do not clash
media_port=$((sip_port + 2))

log() { printf '[lab] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

for v in ami_port sip_port agents talk_time wrapup bench_agents rtp_start rtp_end; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
[[ "$bench_talk" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "LAB_BENCH_TALK must be a number of seconds"
((agents >= 1 && agents <= 254)) || die "LAB_AGENTS must be 1..254"
if ((sip_port >= rtp_start && sip_port <= rtp_end)) || ((ami_port >= rtp_start && ami_port <= rtp_end)); then
  die "LAB_SIP_PORT/LAB_AMI_PORT must lie outside the RTP range $rtp_start-$rtp_end"
fi

# The far end and agents of bench/sim_real.py: LAB_PROFILE=simreal plays
# sipp/farend-simreal.xml.in (an answering callee rings LAB_RING_PAUSE) and
# sipp/agent-simreal.xml.in (agents ring LAB_AGENT_RING_MS, then talk LAB_TALK_PAUSE). The
# pauses are the attributes of a sipp <pause> in ms, e.g. 'distribution="exponential" mean="6000"'.
profile="${LAB_PROFILE:-default}"
ring_pause="${LAB_RING_PAUSE:-distribution=\"fixed\" value=\"1000\"}"
talk_pause="${LAB_TALK_PAUSE:-distribution=\"fixed\" value=\"$((talk_time * 1000))\"}"
agent_ring_ms="${LAB_AGENT_RING_MS:-1}"
case "$profile" in
  default) farend_src=farend.xml.in agent_src=agent.xml.in ;;
  simreal) farend_src=farend-simreal.xml.in agent_src=agent-simreal.xml.in ;;
  *) die "LAB_PROFILE must be default or simreal (got '$profile')" ;;
esac
for v in ring_pause talk_pause; do
  [[ "${!v}" =~ ^distribution=\"[a-z]+\"(\ [a-z_]+=\"[0-9.e+-]+\")+$ ]] ||
    die "LAB_${v^^} must be sipp <pause> attributes, e.g. distribution=\"fixed\" value=\"1000\""
done
[[ "$agent_ring_ms" =~ ^[1-9][0-9]*$ ]] || die "LAB_AGENT_RING_MS must be a positive integer"

mkdir -p "$lab_dir"
lab_dir="$(cd "$lab_dir" && pwd)"
etc="$lab_dir/etc"
run="$lab_dir/run"
logs="$lab_dir/log"
ast_pidfile="$run/lab-asterisk.pid"
env_file="$lab_dir/lab.env"

# A pid is ours only if it still runs the program we started (pids get reused).
pid_alive() { # pidfile comm
  local pid
  [[ -f "$1" ]] || return 1
  pid="$(<"$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]]
}

ast_prefix() {
  [[ -f "$lab_dir/prefix" ]] && cat "$lab_dir/prefix"
}

ast_cli() { # command...
  local prefix
  prefix="$(ast_prefix)"
  "$prefix/sbin/asterisk" -C "$etc/asterisk.conf" -rx "$*"
}

# Log in to AMI over bash's /dev/tcp: proves AMI is up *and* configured.
ami_login_ok() {
  local secret="$1" line ok=1
  # (the braces keep 2>/dev/null from sticking to the shell, as it would on exec)
  { exec 3<>"/dev/tcp/127.0.0.1/$ami_port"; } 2>/dev/null || return 1
  if read -r -t 2 line <&3 && [[ "$line" == Asterisk\ Call\ Manager* ]]; then
    printf 'Action: Login\r\nUsername: %s\r\nSecret: %s\r\n\r\n' "$ami_user" "$secret" >&3
    while read -r -t 2 line <&3; do
      line="${line%$'\r'}"
      [[ "$line" == "Response: Success" ]] && ok=0
      [[ -z "$line" ]] && break
    done
    printf 'Action: Logoff\r\n\r\n' >&3 2>/dev/null || true
  fi
  exec 3>&- 3<&-
  return "$ok"
}

port_in_use_tcp() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

udp_port_in_use() { # ip port
  command -v ss >/dev/null 2>&1 || return 1
  ss -Hlun "src $1:$2" 2>/dev/null | grep -q .
}

print_env() {
  cat "$env_file"
}

render() { # template output
  sed -e "s|@LAB_DIR@|$lab_dir|g" \
    -e "s|@PREFIX@|$prefix|g" \
    -e "s|@SIP_PORT@|$sip_port|g" \
    -e "s|@AMI_PORT@|$ami_port|g" \
    -e "s|@AMI_USER@|$ami_user|g" \
    -e "s|@AMI_SECRET@|$secret|g" \
    -e "s|@RTP_START@|$rtp_start|g" \
    -e "s|@RTP_END@|$rtp_end|g" \
    -e "s|@WRAPUP@|$wrapup|g" \
    -e "s|@BENCH_TALK@|$bench_talk|g" \
    -e "s|@TALK_MS@|$((talk_time * 1000))|g" \
    -e "s|@PCAP_DIR@|$lab_dir/sipp|g" \
    "$1" >"$2"
}

write_config() {
  # Fresh config and logs each time; logs stay after `down` for inspection.
  rm -rf "$etc" "$lab_dir/sipp" "$lab_dir/data" "$logs"
  mkdir -p "$etc" "$run" "$logs" "$lab_dir/var/lib/keys" "$lab_dir/var/spool" "$lab_dir/var/cache" \
    "$lab_dir/data/sounds/dialerd" "$lab_dir/sipp"

  render "$conf_src/lab/asterisk.conf.in" "$etc/asterisk.conf"
  render "$conf_src/lab/manager.conf.in" "$etc/manager.conf"
  render "$conf_src/lab/rtp.conf.in" "$etc/rtp.conf"
  render "$conf_src/lab/extensions.conf.in" "$etc/extensions.conf"
  cp "$conf_src/lab/modules.conf" "$conf_src/lab/logger.conf" "$conf_src/lab/cdr.conf" "$etc/"
  # The dialer contexts and AMD tuning are the production files, unchanged.
  cp "$conf_src/extensions_dialerd.conf" "$conf_src/amd.conf" "$etc/"

  render "$conf_src/lab/pjsip.conf.in" "$etc/pjsip.conf"
  local i
  for ((i = 1; i <= agents; i++)); do
    printf '\n[agent%d](lab-agent-aor)\ncontact = sip:127.0.1.%d:%d\n' "$i" "$i" "$sip_port"
    printf '\n[agent%d]\ntype = identify\nendpoint = agent%d\nmatch = 127.0.1.%d\n' "$i" "$i" "$i"
    printf '\n[agent%d](lab-agent)\naors = agent%d\n' "$i" "$i"
  done >>"$etc/pjsip.conf"

  render "$conf_src/lab/queues.conf.in" "$etc/queues.conf"
  {
    # [bench] is the last section of the template: its members first.
    for ((i = 1; i <= bench_agents; i++)); do
      printf 'member => Local/%d@dialerd-lab-autoanswer/n,0,bench%d\n' "$i" "$i"
    done
    printf '\n[lab-agents](dialerd-campaign)\n'
    for ((i = 1; i <= agents; i++)); do
      printf 'member => PJSIP/agent%d,0,agent%d\n' "$i" "$i"
    done
  } >>"$etc/queues.conf"

  # Data dir: the install's (docs, keys...) by symlink, plus our prompts.
  local d
  for d in "$prefix"/var/lib/asterisk/*; do
    [[ "$(basename "$d")" == sounds ]] && continue
    ln -s "$d" "$lab_dir/data/$(basename "$d")"
  done
  cp "$conf_src"/sounds/dialerd/*.wav "$lab_dir/data/sounds/dialerd/"

  render "$conf_src/lab/sipp/$farend_src" "$lab_dir/sipp/farend.xml"
  render "$conf_src/lab/sipp/$agent_src" "$lab_dir/sipp/agent.xml"
  sed -i -e "s|@RING_PAUSE@|$ring_pause|" -e "s|@TALK_PAUSE@|$talk_pause|" \
    -e "s|@AGENT_RING_MS@|$agent_ring_ms|" "$lab_dir/sipp/farend.xml" "$lab_dir/sipp/agent.xml"
  cp "$conf_src"/lab/audio/*.pcap "$lab_dir/sipp/"
}

start_sipp() { # name ip scenario
  local name="$1" ip="$2" scen="$3" out pid
  out="$logs/sipp-$name.out"
  udp_port_in_use "$ip" "$sip_port" && die "UDP $ip:$sip_port is already in use"
  # -bg forks; its output must not hold our caller's stdout pipe open. The
  # parent's exit status is not meaningful (non-zero even on success): judge
  # by the PID it prints and by that process running.
  # sipp's <pause distribution> draws from GSL, which seeds every process with 0 unless told:
  # all agents would draw the same talk times.
  export GSL_RNG_SEED=$((RANDOM << 15 | RANDOM))
  (cd "$logs" && sipp -sf "$scen" -i "$ip" -p "$sip_port" -mi "$ip" -mp "$media_port" \
    -t u1 -bg -trace_err -error_file "$logs/sipp-$name-errors.log" \
    </dev/null >"$out" 2>&1) || true
  pid="$(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$out" | head -n1)"
  [[ -n "$pid" ]] || die "sipp $name failed to start: $(tail -n 5 "$out")"
  printf '%s\n' "$pid" >"$run/sipp-$name.pid"
  sleep 0.1
  pid_alive "$run/sipp-$name.pid" sipp || die "sipp $name (pid $pid) died: $(tail -n 5 "$out")"
}

stop_pid() { # pidfile comm what
  local pid i
  if pid_alive "$1" "$2"; then
    pid="$(<"$1")"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pid_alive "$1" "$2" || break
      sleep 0.1
    done
    if pid_alive "$1" "$2"; then
      log "$3 (pid $pid) ignored SIGTERM, killing"
      kill -9 "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$1"
}

cmd_down() {
  local i
  if pid_alive "$ast_pidfile" asterisk; then
    log "stopping asterisk"
    ast_cli 'core stop now' >/dev/null 2>&1 || true
    for ((i = 0; i < 100; i++)); do
      pid_alive "$ast_pidfile" asterisk || break
      sleep 0.1
    done
  fi
  stop_pid "$ast_pidfile" asterisk asterisk
  local f
  for f in "$run"/sipp-*.pid; do
    [[ -e "$f" ]] || continue
    stop_pid "$f" sipp "$(basename "$f" .pid)"
  done
  rm -f "$env_file"
  log "down ($lab_dir)"
}

cmd_status() {
  local rc=0 f name
  if pid_alive "$ast_pidfile" asterisk; then
    log "asterisk: running (pid $(<"$ast_pidfile"))"
  else
    log "asterisk: not running"
    rc=3
  fi
  for f in "$run"/sipp-*.pid; do
    [[ -e "$f" ]] || continue
    name="$(basename "$f" .pid)"
    if pid_alive "$f" sipp; then
      log "$name: running (pid $(<"$f"))"
    else
      log "$name: not running"
      rc=3
    fi
  done
  if ((rc == 0)) && [[ -f "$env_file" ]]; then
    ast_cli 'queue show lab-agents' >&2 2>/dev/null || true
    print_env
  fi
  return "$rc"
}

cmd_up() {
  if pid_alive "$ast_pidfile" asterisk && [[ -f "$env_file" ]]; then
    log "already up ($lab_dir)"
    print_env
    return 0
  fi
  cmd_down 2>/dev/null # leftovers of a half-started lab

  prefix="$("$repo/scripts/build_asterisk.sh" | tail -n 1)"
  [[ -x "$prefix/sbin/asterisk" ]] || die "no asterisk binary under '$prefix'"
  command -v sipp >/dev/null 2>&1 || die "sipp not found (apt-get install sip-tester)"
  printf '%s\n' "$prefix" >"$lab_dir/prefix"

  port_in_use_tcp "$ami_port" && die "TCP 127.0.0.1:$ami_port is already in use (LAB_AMI_PORT)"
  udp_port_in_use 127.0.0.1 "$sip_port" && die "UDP 127.0.0.1:$sip_port is already in use (LAB_SIP_PORT)"

  # The AMI secret is kept per lab dir so a client's settings survive a restart.
  secret="${LAB_AMI_SECRET:-}"
  if [[ -z "$secret" ]]; then
    if [[ -s "$lab_dir/ami_secret" ]]; then
      secret="$(<"$lab_dir/ami_secret")"
    else
      secret="lab-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
    fi
  fi
  [[ "$secret" =~ ^[A-Za-z0-9._-]+$ ]] || die "LAB_AMI_SECRET may only use [A-Za-z0-9._-]"
  printf '%s\n' "$secret" >"$lab_dir/ami_secret"

  write_config
  log "starting asterisk ($prefix, config $etc)"
  # setsid: own session, so the caller's terminal signals do not reach it.
  nohup setsid "$prefix/sbin/asterisk" -C "$etc/asterisk.conf" -f -n \
    </dev/null >>"$logs/console.log" 2>&1 &
  printf '%s\n' "$!" >"$ast_pidfile"

  local i up=0
  for ((i = 0; i < 300; i++)); do # up to 60 s
    # kill -0, not the comm check: right after fork it may still be nohup/setsid
    kill -0 "$(<"$ast_pidfile")" 2>/dev/null || {
      tail -n 20 "$logs/console.log" >&2 || true
      die "asterisk exited during start-up (see $logs)"
    }
    if ami_login_ok "$secret"; then
      up=1
      break
    fi
    sleep 0.2
  done
  ((up)) || die "AMI did not accept a login on 127.0.0.1:$ami_port within 60 s"
  pid_alive "$ast_pidfile" asterisk || die "pid $(<"$ast_pidfile") is not asterisk"
  log "AMI up on 127.0.0.1:$ami_port"

  start_sipp farend 127.0.0.2 "$lab_dir/sipp/farend.xml"
  for ((i = 1; i <= agents; i++)); do
    start_sipp "agent$i" "127.0.1.$i" "$lab_dir/sipp/agent.xml"
  done

  # Ask for a qualify now instead of waiting for the next cycle, and wait
  # until every agent is an available queue member.
  local avail=0
  for ((i = 0; i < 100; i++)); do # up to ~20 s
    if ((i % 10 == 0)); then
      local a
      for ((a = 1; a <= agents; a++)); do
        ast_cli "pjsip qualify agent$a" >/dev/null 2>&1 || true
      done
    fi
    avail="$(ast_cli 'queue show lab-agents' 2>/dev/null | grep -c 'Not in use' || true)"
    ((avail >= agents)) && break
    sleep 0.2
  done
  ((avail >= agents)) || die "only $avail of $agents agents became available (see $logs/full)"
  log "$agents agents available; far end on 127.0.0.2:$sip_port"

  cat >"$env_file" <<EOF
DIALERD_AMI_HOST=127.0.0.1
DIALERD_AMI_PORT=$ami_port
DIALERD_AMI_USERNAME=$ami_user
DIALERD_AMI_SECRET=$secret
LAB_DIR=$lab_dir
LAB_SIP_PORT=$sip_port
LAB_AGENTS=$agents
LAB_TALK_TIME=$talk_time
LAB_WRAPUP=$wrapup
LAB_BENCH_AGENTS=$bench_agents
LAB_ASTERISK_PREFIX=$prefix
LAB_ASTERISK_CONF=$etc/asterisk.conf
EOF
  print_env
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *)
    printf 'usage: %s up|down|status\n' "$0" >&2
    exit 2
    ;;
esac
