#!/usr/bin/env bash
# Installs the Debian 12 packages attnn needs to build, test and benchmark, and only the ones
# missing: `dpkg -s` checks each, apt-get installs the rest (through sudo when not root).
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  googletest libgtest-dev          # tests
  libbenchmark-dev                 # bench/attnn_bench
  libdnnl-dev ocl-icd-opencl-dev   # oneDNN, the GEMM baseline (its CMake package wants OpenCL)
  libcli11-dev nlohmann-json3-dev  # the attnn CLI
  python3-dev python3-venv          # the Python package (pip install . into a venv)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg -s "$p" >/dev/null 2>&1; then missing+=("$p"); fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "bootstrap: installing missing Debian packages: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "bootstrap: apt-get not found; this script installs packages on Debian 12. Install these yourself: ${missing[*]}" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "bootstrap: not root and sudo is not installed; as root run: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y "${missing[@]}"
