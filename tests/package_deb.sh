#!/usr/bin/env bash
# The Debian package as an operator gets it: `cpack -G DEB` in BUILD (the rdpbridge binary built
# first), its files, conffile and Depends checked with dpkg-deb, installed with
# `apt-get install ./rdpbridge_*.deb`, the installed example config through check-config and the
# unit through systemd-analyze verify; then removed (the conffile stays) and purged (nothing
# stays). Needs root. Whatever happens, the package is purged on exit.
#   bash tests/package_deb.sh BUILD    # BUILD is configured (Release, no tests) if it is not yet
# Exits 77 (skipped) rather than replace, then delete, an rdpbridge that is already installed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: package_deb.sh BUILD_DIR}
fail() { echo "package deb: $*" >&2; exit 1; }
skip() { echo "package deb: skipped: $*" >&2; exit 77; }
# Another apt (unattended-upgrades, a parallel install) holds dpkg's lock for a while: wait.
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 "$@"; }

((EUID == 0)) || skip "needs root for apt-get"
status=$(dpkg-query -W -f='${db:Status-Status}' rdpbridge 2>/dev/null || true)
[[ -z $status || $status == not-installed ]] ||
  skip "the rdpbridge package is already $status here; remove it with apt-get purge rdpbridge first"
# dpkg would take over these silently (a `cmake --install --prefix /usr`, a quick start's state)
# and the purge at the end would delete them.
for path in /usr/bin/rdpbridge /etc/rdpbridge /usr/lib/systemd/system/rdpbridge.service \
  /usr/share/doc/rdpbridge /var/lib/rdpbridge /var/lib/private/rdpbridge /var/log/rdpbridge \
  /var/log/private/rdpbridge; do
  [[ ! -e $path && ! -L $path ]] || skip "$path exists: this test would replace, then delete it"
done

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Release -DRDPBRIDGE_TESTS=OFF >/dev/null
fi
# What operators install is the plain optimised binary, never an instrumented one.
grep -qx 'CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt" ||
  fail "$build is not a Release build"
if grep -qE '^RDPBRIDGE_(SANITIZE|TSAN|FAULTS):BOOL=(ON|TRUE|1)$' "$build/CMakeCache.txt"; then
  fail "$build has sanitizers or fault injection on: not a binary to package"
fi
cmake --build "$build" -j"$(nproc)" --target rdpbridge >/dev/null

work=$(mktemp -d)
chmod 755 "$work"  # apt reads the .deb as user _apt
installed=0
made_state=0
cleanup() {
  if ((installed)); then
    apt_get purge -y -qq rdpbridge >/dev/null 2>&1 ||
      dpkg --purge rdpbridge >/dev/null 2>&1 || true
  fi
  if ((made_state)); then
    rm -rf /var/lib/rdpbridge /var/log/rdpbridge
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# Interrupted (Ctrl-C, a CTest timeout's TERM), the EXIT trap still purges.
trap 'exit 130' INT
trap 'exit 143' TERM

# -B: the package and CPack's staging go to the scratch directory, not into BUILD.
(cd "$build" && cpack -G DEB -B "$work" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log" >&2
  fail "cpack -G DEB failed"
}
debs=("$work"/rdpbridge_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || fail "cpack made no single rdpbridge_*.deb"
deb=${debs[0]}

# --- The package's metadata and contents, before anything is installed.
[[ $(dpkg-deb -f "$deb" Package) == rdpbridge ]] || fail "Package is not rdpbridge"
[[ $(dpkg-deb -f "$deb" Section) == net ]] || fail "Section is not net"
version=$(dpkg-deb -f "$deb" Version)
depends=$(dpkg-deb -f "$deb" Depends)
# Loaded at run time, never linked: gss-ntlmssp (by MIT GSSAPI, for NLA) and OpenSSL's legacy
# provider (RC4/MD5, shipped in libssl3). Without them only NLA or an old host would fail.
for dep in gss-ntlmssp libssl3 libgssapi-krb5-2 libc6 libstdc++6; do
  [[ ", $depends," == *", $dep "* || ", $depends," == *", $dep,"* ]] ||
    fail "Depends lacks $dep: $depends"
done
listing=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
for file in /usr/bin/rdpbridge /etc/rdpbridge/rdpbridge.toml \
  /usr/lib/systemd/system/rdpbridge.service /usr/share/doc/rdpbridge/README.md \
  /usr/share/doc/rdpbridge/diagnosis.md /usr/share/doc/rdpbridge/probe.md \
  /usr/share/doc/rdpbridge/logs.md /usr/share/doc/rdpbridge/help.txt; do
  grep -qx "$file" <<<"$listing" || fail "the package lacks $file"
done
# A prefix leaking into the package (/usr/local, a staging path) shows here.
allowed='^/(usr/bin|etc/rdpbridge|usr/lib/systemd/system|usr/share/doc/rdpbridge|usr/share/man)/'
stray=$(grep -v '/$' <<<"$listing" | grep -vE "$allowed" || true)
[[ -z $stray ]] || fail "files outside the expected directories: $stray"
[[ $(dpkg-deb -I "$deb" conffiles) == /etc/rdpbridge/rdpbridge.toml ]] ||
  fail "the conffiles are not exactly /etc/rdpbridge/rdpbridge.toml"

# What `apt install ./rdpbridge_*.deb` pulls on a machine with nothing installed: apt resolves the
# package against the mirror's lists already here (no download) and an empty dpkg status.
if compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  : >"$work/empty-status"
  apt_get install -s -o Dir::State::status="$work/empty-status" "$deb" >"$work/sim.log" 2>&1 || {
    cat "$work/sim.log" >&2
    fail "apt cannot resolve the package's dependencies on an empty system"
  }
  for pkg in gss-ntlmssp libssl3 libgssapi-krb5-2; do
    grep -q "^Inst $pkg " "$work/sim.log" ||
      fail "apt install on an empty system would not pull $pkg"
  done
else
  echo "package deb: no apt lists here (apt-get update); the empty-system resolution is not checked"
fi

# --- Installed as the README says.
installed=1
apt_get install -y -q "$deb" >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log" >&2
  fail "apt-get install $deb failed"
}
[[ $(dpkg-query -W -f='${db:Status-Abbrev}' rdpbridge) == "ii " ]] || fail "not installed"
dpkg-query -W -f='${Conffiles}\n' rdpbridge | grep -q '^ /etc/rdpbridge/rdpbridge.toml ' ||
  fail "dpkg does not hold /etc/rdpbridge/rdpbridge.toml as a conffile"
[[ $(command -v rdpbridge) == /usr/bin/rdpbridge ]] || fail "rdpbridge is not /usr/bin/rdpbridge"
[[ $(rdpbridge version) == "rdpbridge $version" ]] ||
  fail "rdpbridge version says '$(rdpbridge version)', the package $version"
rdpbridge --help >/dev/null || fail "rdpbridge --help failed"
grep -q '^rdpbridge check-config --help$' /usr/share/doc/rdpbridge/help.txt ||
  fail "help.txt lacks check-config's help"
rdpbridge check-config /etc/rdpbridge/rdpbridge.toml >"$work/check.log" 2>&1 || {
  cat "$work/check.log" >&2
  fail "the packaged example config does not pass check-config"
}
unit=/usr/lib/systemd/system/rdpbridge.service
grep -qx 'ExecStart=/usr/bin/rdpbridge run --config /etc/rdpbridge/rdpbridge.toml' "$unit" ||
  fail "the unit's ExecStart does not run /usr/bin/rdpbridge on /etc/rdpbridge/rdpbridge.toml"
# Every absolute path the unit names was put down by the package (as install_layout.sh checks).
while read -r path; do
  dpkg -S "$path" >/dev/null 2>&1 || fail "the unit names $path, which the package does not hold"
done < <(grep -E '^(ExecStart|ExecStartPre|Documentation)=' "$unit" |
         grep -oE '(file:)?/[^ ]+' | sed 's/^file://')
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify --man=no "$unit" >"$work/verify.log" 2>&1 || {
    cat "$work/verify.log" >&2
    fail "systemd-analyze verify $unit failed"
  }
fi

# --- Removed: the binary goes, the edited config stays. Purged: the config goes, and so does
# what the service wrote in its StateDirectory= and LogsDirectory=.
apt_get remove -y -q rdpbridge >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log" >&2
  fail "apt-get remove rdpbridge failed"
}
[[ ! -e /usr/bin/rdpbridge && ! -e $unit && ! -e /usr/share/doc/rdpbridge ]] ||
  fail "apt-get remove left the binary, the unit or the docs"
[[ -f /etc/rdpbridge/rdpbridge.toml ]] || fail "apt-get remove took the conffile"
made_state=1
mkdir -p /var/lib/rdpbridge /var/log/rdpbridge
touch /var/lib/rdpbridge/known_hosts.jsonl /var/log/rdpbridge/handshake.jsonl
apt_get purge -y -q rdpbridge >"$work/apt.log" 2>&1 || {
  cat "$work/apt.log" >&2
  fail "apt-get purge rdpbridge failed"
}
installed=0
for path in /etc/rdpbridge /var/lib/rdpbridge /var/log/rdpbridge; do
  [[ ! -e $path ]] || fail "apt-get purge left $path"
done
made_state=0
status=$(dpkg-query -W -f='${db:Status-Status}' rdpbridge 2>/dev/null || true)
[[ -z $status || $status == not-installed ]] || fail "after purge dpkg still lists rdpbridge"
echo "package deb: OK ($(basename "$deb"), Depends: $depends; ${SECONDS}s)"
