#!/usr/bin/env bash
# Quick start 2: the whole check: ruff, mypy --strict, cfn-lint, then the test suite.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" || exit 1
status=0
echo "== ruff"; ruff check eniops tests scripts || status=1
echo "== ruff format"; ruff format --check eniops tests scripts || status=1
echo "== mypy --strict"; mypy || status=1
if [ -f template.yaml ]; then echo "== cfn-lint"; cfn-lint template.yaml || status=1; fi
echo "== pytest"
python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then echo "pytest collected no tests" >&2; rc=1; fi
[ "$rc" -eq 0 ] || status=$rc
exit "$status"
