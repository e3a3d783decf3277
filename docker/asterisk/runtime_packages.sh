#!/usr/bin/env bash
# Prints the Debian packages whose shared libraries an Asterisk install links, one a line: what
# the image's final stage installs. Libraries inside the install itself (the bundled pjproject)
# are left out.
#   runtime_packages.sh <asterisk install prefix>
set -euo pipefail
prefix="$(cd "$1" && pwd -P)"
libs="$(ldd "$prefix/sbin/asterisk" "$prefix"/lib/*.so* "$prefix"/lib/asterisk/modules/*.so |
  awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)"
for lib in $libs; do
  real="$(readlink -f "$lib")"
  [[ "$real" == "$prefix"/* ]] && continue
  # dpkg knows the library by the path it installed (/lib is a link to /usr/lib on bookworm).
  dpkg -S "$lib" 2>/dev/null || dpkg -S "$real" 2>/dev/null || dpkg -S "/usr$lib" ||
    { echo "no package owns $lib" >&2; exit 1; }
done | cut -d: -f1 | sort -u
