#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running gateway on embedded defaults:
#   sudo bash deploy/quickstart.sh --listen 0.0.0.0:3389 --target 192.0.2.7:3389
# Installs the build dependencies, builds build/rdpbridge (Release), then runs
# `rdpbridge run` with the arguments given (see `build/rdpbridge run --help`).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/deploy/install-deps.sh"
cmake -S "$top" -B "$top/build" -DRDPBRIDGE_TESTS=OFF >/dev/null
cmake --build "$top/build" -j"$(nproc)" --target rdpbridge
exec "$top/build/rdpbridge" run --handshake-log "${RDPBRIDGE_HANDSHAKE_LOG:-$top/build/handshake.jsonl}" "$@"
