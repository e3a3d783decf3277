#!/usr/bin/env bash
# Regenerate the dialer's prompts (8 kHz mono 16-bit PCM WAV, the format
# Asterisk's format_wav reads without transcoding surprises).
# Needs espeak-ng and sox (Debian packages), installed only when missing.
# The resulting .wav files are committed; this script is not run at build time.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/dialerd"
mkdir -p "$out"

need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v sox >/dev/null 2>&1 || need+=(sox)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q </dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say() { # name text...
  local name="$1"
  shift
  espeak-ng -v en-us -s 150 -w "$tmp/$name.raw.wav" "$*"
  # Resample to telephone rate, normalise to -3 dBFS, short pad at the end.
  sox "$tmp/$name.raw.wav" -r 8000 -c 1 -b 16 -e signed-integer \
    "$out/$name.wav" gain -n -3 pad 0 0.3
  printf '%s: %s s\n' "$name.wav" "$(soxi -D "$out/$name.wav")"
}

# The campaign queues' music-on-hold class (musiconhold_dialerd.conf) loops it.
mkdir -p "$out/hold"
sox -n -r 8000 -c 1 -b 16 -e signed-integer "$out/hold/silence.wav" trim 0 1
printf 'hold/silence.wav: %s s\n' "$(soxi -D "$out/hold/silence.wav")"

say abandon "We are sorry, all our agents are busy. We will call you back."
say machine "Hello, this is a courtesy call. We will try to reach you again later. Thank you."
