#!/usr/bin/env bash
# Quick start 2: the whole check: lint, types, the template, the test suite and (with no
# arguments) the suites again on the lowest dependency versions eniops declares.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" || exit 1
status=0
echo "== ruff"; ruff check eniops tests scripts || status=1
echo "== ruff format"; ruff format --check eniops tests scripts || status=1
echo "== mypy --strict"; mypy || status=1
echo "== cfn-lint"; cfn-lint --include-checks I -- template.yaml || status=1
echo "== sam validate --lint"; bash scripts/sam.sh validate --lint --template template.yaml || status=1
echo "== pytest"
python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests" >&2; rc=1; fi
[ "$rc" -eq 0 ] || status=$rc
if [ "$#" -eq 0 ]; then
  echo "== the lowest supported versions"; python scripts/floors.py || status=1
fi
exit "$status"
