#!/usr/bin/env bash
# Installs the Debian packages ecco needs to build and test, and any packages named as
# arguments (scripts/fuzz.sh adds clang and its sanitizer runtimes). Idempotent: prints
# nothing and installs nothing when every package is already present.
set -euo pipefail

packages=(
  g++ cmake ninja-build
  openmpi-bin libopenmpi-dev
  libeigen3-dev libspdlog-dev libfmt-dev libcxxopts-dev
  libgtest-dev zlib1g-dev
  python3-numpy python3-matplotlib
  dataset-fashion-mnist
  iproute2 util-linux iputils-ping
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
