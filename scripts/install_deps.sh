#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages qkv's build, tests and programs need, if any is missing
# (with sudo when not root). Used by demo.sh and tests/run.sh, so both work on a fresh machine.
set -euo pipefail

packages=(cmake make g++ git libeigen3-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=()
[ "$(id -u)" -ne 0 ] && sudo=(sudo)
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
