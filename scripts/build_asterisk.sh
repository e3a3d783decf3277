#!/usr/bin/env bash
# Build Asterisk from Debian sid's *source* package (bookworm has no asterisk
# binary) and cache the install per version under
#   ${DIALERD_CACHE_DIR:-$HOME/.cache/dialerd}/asterisk/<version>
# Prints the install prefix as the last line of stdout; build chatter goes to
# stderr and to a log file. A cached run touches neither network nor dpkg.
#
# Env:
#   DIALERD_CACHE_DIR        cache root (default $HOME/.cache/dialerd)
#   DIALERD_ASTERISK_REFRESH 1 = look in sid for a newer source version even
#                            though a build is cached (network)
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

# Bump when the build options below change: cached builds of an older recipe
# are rebuilt (in a staging dir, then swapped in).
recipe=2

home_dir="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
cache_root="${DIALERD_CACHE_DIR:-$home_dir/.cache/dialerd}/asterisk"
latest_link="$cache_root/latest"

log() { printf '[build_asterisk] %s\n' "$*" >&2; }

# Is <dir> a finished install of the current recipe?
complete() {
  [[ -x "$1/sbin/asterisk" ]] && grep -qx "recipe=$recipe" "$1/.dialerd-complete" 2>/dev/null
}

cached_prefix() {
  [[ "${DIALERD_ASTERISK_REFRESH:-0}" != 1 ]] && complete "$latest_link" &&
    (cd "$latest_link" && pwd -P)
}

# Fast path: no lock, no network, no dpkg (well under 2 s).
if prefix="$(cached_prefix)"; then
  printf '%s\n' "$prefix"
  exit 0
fi

mkdir -p "$cache_root"
# Serialise concurrent callers (a demo lab and a test lab may start together).
exec 9>"$cache_root/.lock"
if ! flock -w 3600 9; then
  log "timed out waiting for another build (lock $cache_root/.lock)"
  exit 1
fi
# Another caller may have finished the build while we waited.
if prefix="$(cached_prefix)"; then
  printf '%s\n' "$prefix"
  exit 0
fi

as_root() {
  if [[ "$(id -u)" -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n "$@"
  else
    log "need root to run: $*"
    return 1
  fi
}

# --- bookworm build deps + sipp, installed only when missing ------------------
build_deps=(build-essential bzip2 dpkg-dev libjansson-dev libxml2-dev
  libsqlite3-dev libedit-dev uuid-dev libssl-dev libncurses-dev libsrtp2-dev
  libcurl4-openssl-dev libxslt1-dev sip-tester ca-certificates xz-utils)
missing=()
for pkg in "${build_deps[@]}"; do
  # (no pipe into grep -q: with pipefail an early grep exit could fake "missing")
  if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  log "installing missing packages: ${missing[*]}"
  as_root apt-get update -q </dev/null >&2
  as_root apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >&2
fi

# --- private apt config for sid deb-src ---------------------------------------
work="$cache_root/build.$$"
rm -rf "$work"
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/dl" "$work/tmp"
build_log="$work/build.log"
cleanup() {
  local rc=$?
  if ((rc != 0)); then
    log "FAILED (rc=$rc); last lines of $build_log:"
    tail -n 40 "$build_log" >&2 2>/dev/null || true
    log "work dir kept for inspection: $work"
  fi
}
trap cleanup EXIT
# Run a build step quietly; its output goes to the build log.
run() { "$@" </dev/null >>"$build_log" 2>&1; }

# Same mirror as the system's own apt sources.
if ! mirror="$("$(dirname "${BASH_SOURCE[0]}")/debian_mirror.sh")"; then
  log "could not find a Debian mirror in the system's apt sources"
  exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
printf 'deb-src [signed-by=%s] %s sid main\n' "$keyring" "$mirror" >"$work/apt/sources.list"
log "fetching asterisk source from $mirror sid"

# Private lists/cache/sources: nothing of the system's apt state is touched.
apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists"
  -o "Dir::Cache=$work/apt/cache"
  -o Debug::NoLocking=1
  # the private dirs are ours: download as ourselves, not as _apt
  -o "APT::Sandbox::User=$(id -un)")
run apt-get "${apt_opts[@]}" -q update
(cd "$work/dl" && run apt-get "${apt_opts[@]}" -q source --download-only asterisk)

dsc="$(find "$work/dl" -maxdepth 1 -name 'asterisk_*.dsc' -print -quit)"
if [[ -z "$dsc" ]]; then
  log "no asterisk .dsc downloaded"
  exit 1
fi
log "unpacking $(basename "$dsc")"
src="$work/src"
run dpkg-source -x "$dsc" "$src"

version="$(tr -d '[:space:]' <"$src/.version" 2>/dev/null || true)"
if [[ -z "$version" ]]; then
  version="$(sed -n 's/^Version: *\(.*\)$/\1/p' "$dsc" | head -n1)"
  version="${version#*:}"
  version="${version%%[~+-]*}"
fi
prefix="$cache_root/$version"
if complete "$prefix"; then
  log "asterisk $version already built"
  ln -sfn "$version" "$latest_link"
  rm -rf "$work"
  printf '%s\n' "$prefix"
  exit 0
fi

# --- bundled pjproject, the way debian/rules does it ----------------------------
vmak="$src/Xpjproject/version.mak"
pj_field() { sed -n "s/^export PJ_VERSION_$1 *:= *//p" "$vmak" | tr -d '[:space:]'; }
pj_major="$(pj_field MAJOR)"
pj_minor="$(pj_field MINOR)"
pj_rev="$(pj_field REV)"
pjver="$pj_major.$pj_minor${pj_rev:+.$pj_rev}"
log "asterisk $version, bundled pjproject $pjver"
(
  cd "$work/tmp"
  ln -sfn "$src/Xpjproject" "pjproject-$pjver"
  tar --create "pjproject-$pjver"/* | bzip2 --fast >"pjproject-$pjver.tar.bz2"
  md5sum "pjproject-$pjver.tar.bz2" >"$src/third-party/pjproject/pjproject-$pjver.tar.bz2.md5"
)

# --- configure / build / install --------------------------------------------------
cd "$src"
export TMPDIR="$work/tmp"
# debian/dummyprogs has a `fetch` that refuses downloads
export PATH="$PATH:$src/debian/dummyprogs"
log "configure (log: $build_log)"
run ./configure --prefix="$prefix" --with-pjproject-bundled --without-pwlib \
  --without-sdl --disable-asteriskssl
run make menuselect.makeopts
# No -march=native (the cache may move between machines of one kind); no
# test framework (it adds TestEvent traffic and checks a production build
# would not have); no sound/MOH tarball downloads (the lab ships its prompts).
run menuselect/menuselect --disable BUILD_NATIVE --disable TEST_FRAMEWORK \
  --disable-category MENUSELECT_CORE_SOUNDS \
  --disable-category MENUSELECT_MOH \
  --disable-category MENUSELECT_EXTRA_SOUNDS \
  menuselect.makeopts
log "make -j3 (a few minutes)"
run make -j3
log "make install"
# Stage, then swap: a lab running from an older build of this version keeps
# working until the swap, and a failed install never leaves a half prefix.
stage="$work/stage"
run make install DESTDIR="$stage"
cp "$build_log" "$stage$prefix/dialerd-build.log"
printf 'recipe=%s\ndsc=%s\n' "$recipe" "$(basename "$dsc")" >"$stage$prefix/.dialerd-complete"
if [[ -e "$prefix" ]]; then
  mv "$prefix" "$prefix.old.$$"
fi
mv "$stage$prefix" "$prefix"
rm -rf "$prefix.old.$$"
ln -sfn "$version" "$latest_link"
cd /
rm -rf "$work"
log "installed asterisk $version into $prefix"
printf '%s\n' "$prefix"
