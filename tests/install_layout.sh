#!/usr/bin/env bash
# `cmake --install BUILD --prefix /usr` into a temporary root (DESTDIR): every path the installed
# systemd unit names (binary, config, documentation) must exist in that root, and the config
# must be where the README and the unit say: /etc/rdpbridge/rdpbridge.toml.
set -euo pipefail
build=$1
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
DESTDIR=$root cmake --install "$build" --prefix /usr >/dev/null
unit=$root/usr/lib/systemd/system/rdpbridge.service
fail() { echo "install layout: $*" >&2; exit 1; }
[[ -f $unit ]] || fail "no unit at /usr/lib/systemd/system/rdpbridge.service"
[[ -f $root/etc/rdpbridge/rdpbridge.toml ]] || fail "no config at /etc/rdpbridge/rdpbridge.toml"
checked=0
# Every absolute path in ExecStart*/Documentation= lines must have been installed.
while read -r path; do
  [[ -e $root$path ]] || fail "the unit names $path, which the install did not put down"
  checked=$((checked + 1))
done < <(grep -E '^(ExecStart|ExecStartPre|Documentation)=' "$unit" |
         grep -oE '(file:)?/[^ ]+' | sed 's/^file://')
((checked >= 6)) || fail "expected at least 6 paths in the unit, found $checked"
grep -qE '@[A-Z]+@' "$unit" && fail "unsubstituted @VARIABLE@ left in the unit"
"$root/usr/bin/rdpbridge" check-config "$root/etc/rdpbridge/rdpbridge.toml" >/dev/null ||
  fail "the installed example config does not pass check-config"
# systemd's own check of the unit (directives, Type=notify, ExecReload=): on a copy whose
# commands point into the temporary root, since verify insists that they exist.
if command -v systemd-analyze >/dev/null; then
  sed "s#=/usr/bin/#=$root/usr/bin/#g" "$unit" >"$root/rdpbridge.service"
  SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$root/rdpbridge.service" ||
    fail "systemd-analyze verify rejects the unit"
  grep -q '^Type=notify$' "$unit" || fail "the unit is not Type=notify"
fi
echo "install layout: OK ($checked paths named by the unit exist under DESTDIR)"
