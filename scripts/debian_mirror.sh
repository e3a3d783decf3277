#!/usr/bin/env bash
# Prints the Debian mirror of this machine's own apt sources (read at run time, never
# hard-coded): the Repo-URI of the entry whose suite is the OS codename, else the first that is
# not a security archive. Fails when there is none. Used by build_asterisk.sh (sid's source
# package) and compose_proof.sh (the debootstrap base image).
set -euo pipefail
# shellcheck disable=SC1091 # system file, read at run time
codename="$(. /etc/os-release && printf '%s' "${VERSION_CODENAME:-}")"
# shellcheck disable=SC2016 # $(...) here is apt's format syntax, not the shell's
mirror="$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' 2>/dev/null |
  awk -v c="$codename" '$2 == c && $3 == "deb" {print $1; exit}')"
if [[ -z "$mirror" ]]; then
  # shellcheck disable=SC2016
  mirror="$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 2>/dev/null |
    awk '$2 !~ /security/ {print $1; exit}')"
fi
[[ -n "$mirror" ]] || exit 1
printf '%s\n' "${mirror%/}"
