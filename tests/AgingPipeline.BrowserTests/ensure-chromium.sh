#!/usr/bin/env bash
# The browser tests drive Debian's Chromium at /usr/bin/chromium. Installs it with apt-get when it is missing and
# this runs as root; never downloads a browser through Playwright (`playwright install` is not used anywhere).
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then
  exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null; then
  echo "/usr/bin/chromium is missing; install Debian's Chromium (sudo apt-get install -y chromium) to run the browser tests." >&2
  exit 1
fi
echo "==> Installing Debian's chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
test -x /usr/bin/chromium
