#!/usr/bin/env bash
# The test suite needs Debian's Chromium (Playwright drives /usr/bin/chromium, never a downloaded
# browser) and redis-server (the multi-process tests). Install them with apt when missing; when that
# is impossible, stop and name what is missing: those tests are never skipped silently.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing system packages: ${missing[*]}"
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; then
    exit 0
  fi
fi
echo "ERROR: the test suite needs these system packages: ${missing[*]}" >&2
echo "Install them (Debian/Ubuntu: apt-get install ${missing[*]}) and run 'make test' again." >&2
exit 1
