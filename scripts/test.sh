#!/usr/bin/env bash
# Quick start 2: the whole check: lint, types, the template and the test suite, each test
# once (with no arguments, the pure and ops suites on the lowest dependency versions eniops
# declares, the rest on the newest; with arguments, pytest's, on the newest).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" || exit 1
# The HA tests run ClusterLabs' ocf-tester, xmllint and keepalived's config test: Debian's
# packages, installed when missing and this is root on a Debian-like system. The completion
# tests load their scripts in zsh and fish too where those are installed (tried apart: a
# shell that cannot be installed never costs the HA tools).
apt_install() {
  [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || return 0
  echo "installing $* ..." >&2
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends "$@"; } >/dev/null ||
    echo "could not install $*: the tests that need them will say so" >&2
}
if ! command -v ocf-tester >/dev/null || ! command -v xmllint >/dev/null ||
   ! command -v keepalived >/dev/null; then
  apt_install resource-agents libxml2-utils keepalived
fi
if ! command -v zsh >/dev/null || ! command -v fish >/dev/null; then
  apt_install zsh fish
fi
status=0
echo "== ruff"; ruff check eniops tests scripts || status=1
echo "== ruff format"; ruff format --check eniops tests scripts || status=1
echo "== mypy --strict"; mypy || status=1
echo "== cfn-lint"; cfn-lint --include-checks I -- template.yaml || status=1
echo "== sam validate --lint"; bash scripts/sam.sh validate --lint --template template.yaml || status=1
echo "== pytest"
if [ "$#" -eq 0 ]; then
  # Everything, each test once: the pure and ops tests run on the lowest versions eniops
  # declares (below), the rest here on the newest.
  python -m pytest --floors-elsewhere
else
  python -m pytest "$@"
fi
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests" >&2; rc=1; fi
[ "$rc" -eq 0 ] || status=$rc
if [ "$#" -eq 0 ]; then
  echo "== the lowest supported versions"; python scripts/floors.py || status=1
  echo "== a release, up to publishing"; bash scripts/release.sh build/release || status=1
fi
exit "$status"
