#!/usr/bin/env bash
# Installs what Foresight needs on Debian 12 (run as root from the repository root): C/C++
# libraries from Debian, Python packages into ./.venv from PyPI. Safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(build-essential cmake pkg-config git
          libsimgrid-dev libboost-dev libyaml-cpp-dev nlohmann-json3-dev libfmt-dev libcli11-dev catch2 libabsl-dev zlib1g-dev
          pybind11-dev python3-dev python3-venv)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/pip install -q --disable-pip-version-check -r python/requirements.txt
