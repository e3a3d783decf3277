#!/usr/bin/env bash
# dialerd PBX lab: Asterisk (cached build) + a sipp far end + sipp agent phones,
# all on loopback addresses, all state under LAB_DIR. See asterisk_conf/lab/README.md.
#
#   scripts/lab.sh up      build (cached), configure, start, wait until a call works
#                          (one probe call through the far end), print KEY=value lines
#   scripts/lab.sh down    stop what `up` started (idempotent)
#   scripts/lab.sh status  show what runs; prints KEY=value lines when up
#   scripts/lab.sh trunk-down / trunk-up   stop / restart the far end (the "carrier") and wait
#                          until Asterisk's qualify has its contact Unavailable / Reachable
#   scripts/lab.sh pbx-kill / pbx-up   SIGKILL Asterisk / start it again on the same config and
#                          wait until a call works
#
# Knobs (env): LAB_DIR (<repo>/.lab), LAB_AMI_PORT (5038), LAB_SIP_PORT (5060),
# LAB_AGENTS (3), LAB_TALK_TIME (5 s), LAB_WRAPUP (2 s), LAB_BENCH_AGENTS (20),
# LAB_BENCH_TALK (1 s), LAB_RTP_START/LAB_RTP_END (20000/29999),
# LAB_AMI_SECRET (random, kept per LAB_DIR).
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
# the production AMI user (manager_dialerd.conf), with the lab's secret
ami_user=dialerd
# sipp's RTP socket: off the SIP port so two labs on the same IPs do not clash
media_port=$((sip_port + 2))
# The tone phones (name:address:Hz), each a sipp that answers at once and sends one sine: the
# supervisor's phone, an agent (the one member of queue lab-tones) and a customer (dialled as
# PJSIP/<number>@tonecustomer). What reaches each says whom it hears (tests/pbx/test_spy_media.py).
tone_phones=(supervisor1:127.0.2.1:1900 toneagent1:127.0.2.2:1100 tonecustomer:127.0.2.3:500)

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
trunk_down_mark="$run/trunk-down"
pbx_down_mark="$run/pbx-killed"

# A pid is ours only if it still runs the program we started (pids get reused). A zombie has
# exited: our daemons' parent is pid 1, which here reaps them only 1-2 s later.
pid_alive() { # pidfile comm
  local pid stat
  [[ -f "$1" ]] || return 1
  pid="$(<"$1")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == "$2" ]] || return 1
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }" # the state follows "(comm) "
  [[ "${stat%% *}" != Z ]]
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

# Microseconds (bash's clock, locale-proof), and seconds since one of them ("1.23").
now_us() { printf '%s' "${EPOCHREALTIME/[.,]/}"; }
since() {
  local cs=$((($(now_us) - $1) / 10000))
  printf '%d.%02d' $((cs / 100)) $((cs % 100))
}

# Runs the command every 0.1 s until it succeeds; fails after `seconds`. No fixed waits.
poll() { # seconds command...
  local deadline=$(($(now_us) + $1 * 1000000))
  until "${@:2}"; do
    (($(now_us) < deadline)) || return 1
    sleep 0.1
  done
}

# The far end's contact as Asterisk's qualify sees it: Avail, Unavail, Created (not yet qualified).
farend_status() {
  ast_cli 'pjsip show aor farend' 2>/dev/null |
    awk '$1 == "Contact:" && $2 ~ /^farend\// { print $4; exit }'
}

agents_free() { # queue
  ast_cli "queue show ${1:-lab-agents}" 2>/dev/null | grep -c 'Not in use' || true
}

# Each check below qualifies again about once a second, so that a lost OPTIONS or one sent
# before a sipp listened is not waited out for a whole qualify cycle.
polls=0
requalify() { # endpoint...
  local e
  ((polls++ % 10 == 0)) || return 0
  for e in "$@"; do
    ast_cli "pjsip qualify $e" >/dev/null 2>&1 || true
  done
}

fully_booted() {
  # kill -0, not the comm check: right after fork it may still be nohup/setsid
  kill -0 "$(<"$ast_pidfile")" 2>/dev/null || {
    tail -n 20 "$logs/console.log" >&2 || true
    die "asterisk exited during start-up (see $logs)"
  }
  # blocks while Asterisk boots; fails at once while its CLI socket is not there yet
  [[ "$(timeout 5 "$prefix/sbin/asterisk" -C "$etc/asterisk.conf" -rx 'core waitfullybooted' 2>/dev/null)" == *"fully booted"* ]]
}

# A qualify's timeout marks its contact Unavailable even when a later qualify has already found
# it Reachable. Qualifies sent while Asterisk boots can go unanswered even by a listening sipp
# (seen for the far end and for agents), and those sent while a sipp is down are unanswered. So
# reachability counts only once every such qualify has had its answer or its timeout: the
# longest qualify_timeout after the boot, or after the sipp listens.
qualify_settle_us() {
  awk -F' *= *' '$1 == "qualify_timeout" && $2 > m { m = $2 } END { printf "%d", m * 1000000 }' "$etc/pjsip.conf"
}

lab_reachable() { # booted_at_us
  local a names=(farend)
  for ((a = 1; a <= agents; a++)); do names+=("agent$a"); done
  requalify "${names[@]}"
  (($(now_us) >= $1 + $(qualify_settle_us))) && [[ "$(farend_status)" == Avail ]] &&
    (($(agents_free) >= agents)) && (($(agents_free lab-tones) >= 1))
}

# One call through the far end, placed as the dialer places them (async AMI Originate): it must
# get a channel, be answered and hang up, which proves more than each part answering on its own.
# Application Hangup: no dialplan, queue or agent; a number ending in 1 rings ~1 s (in the
# simreal profile not at all), is answered and takes Asterisk's BYE at once. Prints what went
# wrong when it fails.
probe_channel=PJSIP/probe1@farend
probe_call() { # secret
  local id line key value name="" uniqueid="" response="" reason="" message=""
  local channel=0 answered=0 gone=0 deadline rc
  id="lab-probe-$(now_us)"
  deadline=$(($(now_us) + 15000000))
  { exec 3<>"/dev/tcp/127.0.0.1/$ami_port"; } 2>/dev/null || {
    echo "no AMI connection"
    return 1
  }
  printf 'Action: Login\r\nUsername: %s\r\nSecret: %s\r\nEvents: call\r\n\r\n' "$ami_user" "$1" >&3
  printf 'Action: Originate\r\nChannel: %s\r\nApplication: Hangup\r\nAsync: true\r\nTimeout: 10000\r\nChannelId: %s\r\n\r\n' "$probe_channel" "$id" >&3
  while ((!(answered && gone) && $(now_us) < deadline)); do
    rc=0
    read -r -t 1 line <&3 || rc=$?
    ((rc > 128)) && continue # nothing for a second
    ((rc == 0)) || break     # AMI closed the connection
    line="${line%$'\r'}"
    if [[ -n "$line" ]]; then # one field of a message
      key="${line%%: *}" value="${line#*: }"
      case "$key" in
        Event) name="$value" ;;
        Uniqueid) uniqueid="$value" ;;
        Response) response="$value" ;;
        Reason) reason="$value" ;;
        Message) message="$value" ;;
      esac
      continue
    fi
    [[ "$response" == Error ]] && break # login or Originate refused
    if [[ "$uniqueid" == "$id" ]]; then
      case "$name" in
        Newchannel) channel=1 ;;
        OriginateResponse)
          [[ "$response" == Success ]] || break
          answered=1
          ;;
        Hangup) gone=1 ;;
      esac
    fi
    name="" uniqueid="" response="" reason="" message=""
  done
  exec 3>&- 3<&-
  ((channel && answered && gone)) && return 0
  if [[ "$response" == Error ]]; then
    echo "AMI refused it: $message"
  elif [[ "$response" == Failure ]] && ((channel)); then
    echo "the call failed (OriginateResponse Failure, Reason $reason)"
  elif [[ "$response" == Failure ]]; then
    echo "no channel was created (OriginateResponse Failure, Reason $reason)"
  else
    echo "within 15 s: channel $channel, answered $answered, hung up $gone"
  fi
  return 1
}

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
  cp "$conf_src/lab/modules.conf" "$conf_src/lab/logger.conf" "$conf_src/lab/cdr.conf" \
    "$conf_src/lab/musiconhold.conf" "$etc/"
  # The production snippets, unchanged, included by the lab's files as a PBX includes them;
  # the AMD tuning is the production file.
  cp "$conf_src"/*_dialerd.conf "$conf_src/amd.conf" "$etc/"

  render "$conf_src/lab/pjsip.conf.in" "$etc/pjsip.conf"
  local i
  for ((i = 1; i <= agents; i++)); do
    printf '\n[agent%d](lab-agent-aor)\ncontact = sip:127.0.1.%d:%d\n' "$i" "$i" "$sip_port"
    printf '\n[agent%d]\ntype = identify\nendpoint = agent%d\nmatch = 127.0.1.%d\n' "$i" "$i" "$i"
    printf '\n[agent%d](lab-agent)\naors = agent%d\n' "$i" "$i"
  done >>"$etc/pjsip.conf"
  local phone name ip hz
  for phone in "${tone_phones[@]}"; do
    IFS=: read -r name ip hz <<<"$phone"
    printf '\n[%s](lab-tone-aor)\ncontact = sip:%s:%d\n' "$name" "$ip" "$sip_port"
    printf '\n[%s]\ntype = identify\nendpoint = %s\nmatch = %s\n' "$name" "$name" "$ip"
    printf '\n[%s](lab-agent)\naors = %s\n' "$name" "$name"
    python3 "$conf_src/lab/audio/make_pcaps.py" tone "$hz" "$lab_dir/sipp/tone-$name.pcap" >&2
    sed -e "s|@TONE_PCAP@|$lab_dir/sipp/tone-$name.pcap|" "$conf_src/lab/sipp/tone.xml.in" \
      >"$lab_dir/sipp/tone-$name.xml"
  done >>"$etc/pjsip.conf"

  render "$conf_src/lab/queues.conf.in" "$etc/queues.conf"
  {
    # [bench] is the last section of the template: its members first.
    for ((i = 1; i <= bench_agents; i++)); do
      printf 'member => Local/%d@dialerd-lab-autoanswer/n,0,bench%d\n' "$i" "$i"
    done
    printf '\n[lab-agents](lab-campaign)\n'
    for ((i = 1; i <= agents; i++)); do
      printf 'member => PJSIP/agent%d,0,agent%d\n' "$i" "$i"
    done
    printf '\n[lab-tones](lab-campaign)\nmember => PJSIP/toneagent1,0,toneagent1\n'
  } >>"$etc/queues.conf"

  # Data dir: the install's (docs, keys...) by symlink, plus our prompts.
  local d
  for d in "$prefix"/var/lib/asterisk/*; do
    [[ "$(basename "$d")" == sounds ]] && continue
    ln -s "$d" "$lab_dir/data/$(basename "$d")"
  done
  cp -r "$conf_src"/sounds/dialerd/. "$lab_dir/data/sounds/dialerd/"

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
  # Appending: after trunk-down/trunk-up the earlier far end's output stays.
  # sipp-NAME-calls.log: the scenario's <log> lines, written as they happen; the far end's has
  # one "INVITE INVITE sip:<number>@ digit <d>" per call received (retransmissions are not
  # new calls), which the fault tests count against the dialer's history.
  # sipp's <pause distribution> draws from GSL, which seeds every process with 0 unless told:
  # all agents would draw the same talk times.
  export GSL_RNG_SEED=$((RANDOM << 15 | RANDOM))
  (cd "$logs" && sipp -sf "$scen" -i "$ip" -p "$sip_port" -mi "$ip" -mp "$media_port" \
    -t u1 -bg -trace_err -error_file "$logs/sipp-$name-errors.log" -error_overwrite false \
    -trace_logs -log_file "$logs/sipp-$name-calls.log" -log_overwrite false \
    </dev/null >>"$out" 2>&1) || true
  pid="$(sed -n 's/.*PID=\[\([0-9]*\)\].*/\1/p' "$out" | tail -n1)"
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
  rm -f "$env_file" "$trunk_down_mark" "$pbx_down_mark"
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
  [[ -f "$trunk_down_mark" ]] && log "sipp-farend: stopped by trunk-down (scripts/lab.sh trunk-up)"
  [[ -f "$pbx_down_mark" ]] && log "asterisk: killed by pbx-kill (scripts/lab.sh pbx-up)"
  if ((rc == 0)) && [[ -f "$env_file" ]]; then
    ast_cli 'queue show lab-agents' >&2 2>/dev/null || true
    print_env
  fi
  return "$rc"
}

# Starts Asterisk on the lab's config and returns once a call works (see "What `up` waits for"
# in asterisk_conf/lab/README.md). Needs prefix, ami_port, agents.
start_asterisk() { # secret
  local secret="$1"
  log "starting asterisk ($prefix, config $etc)"
  local t0
  t0="$(now_us)"
  # setsid: own session, so the caller's terminal signals do not reach it.
  nohup setsid "$prefix/sbin/asterisk" -C "$etc/asterisk.conf" -f -n \
    </dev/null >>"$logs/console.log" 2>&1 &
  printf '%s\n' "$!" >"$ast_pidfile"

  # Ready means a call works. AMI takes logins long before that: before the channel drivers
  # are loaded an Originate fails at once (Failure, Reason 0, no channel).
  poll 60 fully_booted || die "asterisk not fully booted within 60 s (see $logs/full)"
  local booted
  booted="$(now_us)"
  pid_alive "$ast_pidfile" asterisk || die "pid $(<"$ast_pidfile") is not asterisk"
  # A port taken since the checks above (another lab starting on it): our AMI logins and calls
  # would reach that lab.
  if grep -m 1 'Address already in use' "$logs/messages" >&2; then
    die "asterisk could not bind its AMI or SIP port (see $logs/messages)"
  fi
  poll 10 ami_login_ok "$secret" || die "AMI did not accept a login on 127.0.0.1:$ami_port (see $logs/messages)"
  poll 20 lab_reachable "$booted" ||
    die "far end contact '$(farend_status)' (want Avail), $(agents_free) of $agents agents available, within 20 s (see $logs/full)"
  log "booted, AMI on 127.0.0.1:$ami_port, far end and $agents agents reachable after $(since "$t0") s"
  local failed
  failed="$(probe_call "$secret")" || die "probe call to $probe_channel: $failed (see $logs/full)"
  # A qualify Asterisk sent just before it was ready, whose answer it dropped, marks its contact
  # Unavailable when it times out: up to the longest qualify_timeout after the boot, possibly
  # just after the check above passed (seen up to 0.8 s after Ready; an agent's timeout is 1 s).
  # The probe took a second more: a contact lost meanwhile is waited for again, else the first
  # call after `up` finds the far end refusing every Originate, or an agent away.
  if ! lab_reachable "$booted"; then
    log "far end contact '$(farend_status)', $(agents_free) of $agents agents available after the probe call: waiting again"
    poll 20 lab_reachable "$booted" ||
      die "after the probe call: far end contact '$(farend_status)', $(agents_free) of $agents agents available, within 20 s (see $logs/full)"
  fi
  log "probe call answered; up after $(since "$t0") s"
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
  local i
  # The sipps first: Asterisk's qualify at load then finds them listening.
  start_sipp farend 127.0.0.2 "$lab_dir/sipp/farend.xml"
  for ((i = 1; i <= agents; i++)); do
    start_sipp "agent$i" "127.0.1.$i" "$lab_dir/sipp/agent.xml"
  done
  local phone name ip hz
  for phone in "${tone_phones[@]}"; do
    IFS=: read -r name ip hz <<<"$phone"
    start_sipp "$name" "$ip" "$lab_dir/sipp/tone-$name.xml"
  done

  start_asterisk "$secret"

  cat >"$env_file" <<EOF
DIALERD_AMI_HOST=127.0.0.1
DIALERD_AMI_PORT=$ami_port
DIALERD_AMI_USERNAME=$ami_user
DIALERD_AMI_SECRET=$secret
LAB_DIR=$lab_dir
LAB_SIP_PORT=$sip_port
LAB_MEDIA_PORT=$media_port
LAB_TONE_PHONES=$(IFS=,; printf '%s' "${tone_phones[*]}")
LAB_AGENTS=$agents
LAB_TALK_TIME=$talk_time
LAB_WRAPUP=$wrapup
LAB_BENCH_AGENTS=$bench_agents
LAB_ASTERISK_PREFIX=$prefix
LAB_ASTERISK_CONF=$etc/asterisk.conf
EOF
  print_env
}

# The trunk commands act on the running lab: its ports are the ones in its lab.env, whatever
# this shell's LAB_* say, so LAB_DIR is all they need.
running_lab() {
  pid_alive "$ast_pidfile" asterisk && [[ -f "$env_file" ]] || die "the lab in $lab_dir is not up"
  sip_port="$(sed -n 's/^LAB_SIP_PORT=//p' "$env_file")"
  media_port=$((sip_port + 2))
}

farend_is() { # status not_before_us
  requalify farend
  (($(now_us) >= $2)) && [[ "$(farend_status)" == "$1" ]]
}

# The carrier goes away: the far end stops answering anything, and Asterisk's qualify marks its
# contact Unavailable, after which an Originate to it fails at once (Failure, Reason 0, no
# channel). Calls to the far end still up are left to Asterisk's own timers.
cmd_trunk_down() {
  running_lab
  local t0
  t0="$(now_us)"
  stop_pid "$run/sipp-farend.pid" sipp sipp-farend
  touch "$trunk_down_mark"
  poll 15 farend_is Unavail 0 ||
    die "far end contact still '$(farend_status)' 15 s after the far end stopped (see $logs/full)"
  log "trunk down: far end stopped, its contact Unavailable after $(since "$t0") s"
}

cmd_trunk_up() {
  running_lab
  local t0 settled=0
  t0="$(now_us)"
  if ! pid_alive "$run/sipp-farend.pid" sipp; then
    start_sipp farend 127.0.0.2 "$lab_dir/sipp/farend.xml"
    # a qualify sent while it was down may still time out (see qualify_settle_us)
    settled=$(($(now_us) + $(qualify_settle_us)))
  fi
  rm -f "$trunk_down_mark"
  poll 15 farend_is Avail "$settled" ||
    die "far end contact still '$(farend_status)' 15 s after the far end started (see $logs/full)"
  log "trunk up: far end running, its contact Reachable after $(since "$t0") s"
}

# Asterisk dies (SIGKILL: no hangups sent, no AMI goodbye) and comes back on the same config, as
# after a crash and its supervisor's restart. The far end and agents keep running; calls they
# had are left to their own timers.
cmd_pbx_kill() {
  running_lab
  local pid
  pid="$(<"$ast_pidfile")"
  kill -9 "$pid"
  poll 10 pbx_gone || die "asterisk (pid $pid) still runs 10 s after SIGKILL"
  touch "$pbx_down_mark"
  log "asterisk (pid $pid) killed"
}

pbx_gone() { ! pid_alive "$ast_pidfile" asterisk; }

cmd_pbx_up() {
  [[ -f "$env_file" ]] || die "the lab in $lab_dir was never up"
  if pid_alive "$ast_pidfile" asterisk; then
    log "asterisk already running"
    return 0
  fi
  ami_port="$(sed -n 's/^DIALERD_AMI_PORT=//p' "$env_file")"
  agents="$(sed -n 's/^LAB_AGENTS=//p' "$env_file")"
  prefix="$(sed -n 's/^LAB_ASTERISK_PREFIX=//p' "$env_file")"
  start_asterisk "$(sed -n 's/^DIALERD_AMI_SECRET=//p' "$env_file")"
  rm -f "$pbx_down_mark"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  trunk-down) cmd_trunk_down ;;
  trunk-up) cmd_trunk_up ;;
  pbx-kill) cmd_pbx_kill ;;
  pbx-up) cmd_pbx_up ;;
  *)
    printf 'usage: %s up|down|status|trunk-down|trunk-up|pbx-kill|pbx-up\n' "$0" >&2
    exit 2
    ;;
esac
