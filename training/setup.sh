#!/usr/bin/env bash
# Installs the model toolchain's Debian packages when missing (torch 1.13 CPU, onnx, numpy, PIL).
# The toolchain uses Debian's interpreter, /usr/bin/python3: PyPI is not needed.
set -euo pipefail
PY=/usr/bin/python3
if "$PY" -c 'import torch, onnx, numpy, PIL' 2>/dev/null; then
  exit 0
fi
PKGS="python3-torch python3-onnx python3-numpy python3-pil"
if [ "$(id -u)" = 0 ]; then
  echo "training/setup.sh: installing $PKGS" >&2
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $PKGS >/dev/null
else
  echo "training/setup.sh: the model toolchain needs Debian packages; run:" >&2
  echo "  sudo apt-get install -y $PKGS" >&2
  exit 1
fi
