#!/usr/bin/env bash
# Build Asterisk from Debian sid's *source* package (bookworm has no asterisk
# binary) and cache the install per version. Prints the install prefix as the
# last line of stdout. Build chatter goes to stderr and a log file.
#
# Env:
#   DIALERD_CACHE_DIR        cache root (default $HOME/.cache/dialerd)
#   DIALERD_ASTERISK_REFRESH 1 = ignore the cached "latest" and check sid for
#                            a newer source version (network)
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

home_dir="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"
cache_root="${DIALERD_CACHE_DIR:-$home_dir/.cache/dialerd}/asterisk"
latest_link="$cache_root/latest"

log() { printf '[build_asterisk] %s\n' "$*" >&2; }

# Fast path: a completed install is marked by .dialerd-complete; "latest"
# names the version last built. No network, no dpkg, so it stays well < 2 s.
if [[ "${DIALERD_ASTERISK_REFRESH:-0}" != 1 && -f "$latest_link/.dialerd-complete" ]]; then
  prefix="$(cd "$latest_link" && pwd -P)"
  if [[ -x "$prefix/sbin/asterisk" ]]; then
    printf '%s\n' "$prefix"
    exit 0
  fi
fi

mkdir -p "$cache_root"
# Serialise concurrent callers (a demo lab and a test lab may start together).
exec 9>"$cache_root/.lock"
if ! flock -w 3600 9; then
  log "timed out waiting for another build (lock $cache_root/.lock)"
  exit 1
fi
# Someone else may have finished the build while we waited.
if [[ "${DIALERD_ASTERISK_REFRESH:-0}" != 1 && -f "$latest_link/.dialerd-complete" ]]; then
  prefix="$(cd "$latest_link" && pwd -P)"
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
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
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

# Same mirror as the system's own apt sources (read at run time, never
# hard-coded): the Repo-URI of the entry whose suite is the OS codename.
codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
mirror="$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
  awk -v c="$codename" '$2 == c && $3 == "deb" {print $1; exit}')"
if [[ -z "$mirror" ]]; then
  mirror="$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
    awk '$2 !~ /security/ {print $1; exit}')"
fi
if [[ -z "$mirror" ]]; then
  log "could not find a Debian mirror in the system's apt sources"
  exit 1
fi
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
printf 'deb-src [signed-by=%s] %s sid main\n' "$keyring" "${mirror%/}" >"$work/apt/sources.list"
log "fetching asterisk source from ${mirror%/} sid"

apt_opts=(-o "Dir::Etc::SourceList=$work/apt/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$work/apt/lists"
  -o "Dir::Cache=$work/apt/cache"
  -o Debug::NoLocking=1)
# apt drops to the _apt user for downloads; our private dirs are ours, so
# stay as the current user instead of warning about an unsandboxed download.
apt_opts+=(-o "APT::Sandbox::User=$(id -un)")

apt-get "${apt_opts[@]}" -q update </dev/null >>"$build_log" 2>&1
(cd "$work/dl" && apt-get "${apt_opts[@]}" -q source --download-only asterisk </dev/null) >>"$build_log" 2>&1

dsc="$(find "$work/dl" -maxdepth 1 -name 'asterisk_*.dsc' -print -quit)"
if [[ -z "$dsc" ]]; then
  log "no asterisk .dsc downloaded"
  exit 1
fi
log "unpacking $(basename "$dsc")"
src="$work/src"
dpkg-source -x "$dsc" "$src" >>"$build_log" 2>&1

version="$(tr -d '[:space:]' <"$src/.version" 2>/dev/null || true)"
if [[ -z "$version" ]]; then
  version="$(sed -n 's/^Version: *\(.*\)$/\1/p' "$dsc" | head -n1)"
  version="${version#*:}"
  version="${version%%[~+-]*}"
fi
prefix="$cache_root/$version"
if [[ -f "$prefix/.dialerd-complete" && -x "$prefix/sbin/asterisk" ]]; then
  log "asterisk $version already built"
  ln -sfn "$version" "$latest_link"
  rm -rf "$work"
  printf '%s\n' "$prefix"
  exit 0
fi
rm -rf "$prefix"

# --- bundled pjproject, the way debian/rules does it ----------------------------
vmak="$src/Xpjproject/version.mak"
pj_major="$(sed -n 's/^export PJ_VERSION_MAJOR *:= *//p' "$vmak" | tr -d '[:space:]')"
pj_minor="$(sed -n 's/^export PJ_VERSION_MINOR *:= *//p' "$vmak" | tr -d '[:space:]')"
pj_rev="$(sed -n 's/^export PJ_VERSION_REV *:= *//p' "$vmak" | tr -d '[:space:]')"
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
export PATH="$PATH:$src/debian/dummyprogs"
log "configure (log: $build_log)"
./configure --prefix="$prefix" --with-pjproject-bundled --without-pwlib \
  --without-sdl --disable-asteriskssl </dev/null >>"$build_log" 2>&1
make menuselect.makeopts </dev/null >>"$build_log" 2>&1
# No -march=native (portable cache); no sound tarball downloads (no network
# beyond package registries; the lab ships its own prompts).
menuselect/menuselect --disable BUILD_NATIVE \
  --disable-category MENUSELECT_CORE_SOUNDS \
  --disable-category MENUSELECT_MOH \
  --disable-category MENUSELECT_EXTRA_SOUNDS \
  menuselect.makeopts >>"$build_log" 2>&1
log "make -j3 (a few minutes)"
make -j3 </dev/null >>"$build_log" 2>&1
log "make install"
make install </dev/null >>"$build_log" 2>&1

cp "$build_log" "$prefix/dialerd-build.log"
basename "$dsc" >"$prefix/.dialerd-complete"
ln -sfn "$version" "$latest_link"
cd /
rm -rf "$work"
log "installed asterisk $version into $prefix"
printf '%s\n' "$prefix"
