#!/usr/bin/env bash
# Installs rdpbridge's Debian 12 packages: the build set, plus the test set with --test.
# Must run as root (apt-get). The list lives in deploy/debian-packages.txt.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sets=(build)
[[ "${1:-}" == "--test" ]] && sets+=(test)
pkgs=()
for s in "${sets[@]}"; do
  read -r -a more <<<"$(sed -n "s/^$s: //p" "$here/debian-packages.txt")"
  pkgs+=("${more[@]}")
done
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: needs root for apt-get; run it with sudo" >&2
  exit 2
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # xrdp's postinst would start services under systemd; nothing is started in a container.
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
echo "install-deps: ${#pkgs[@]} packages present"
