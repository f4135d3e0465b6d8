#!/usr/bin/env bash
# Quick start 1: the failover story on an embedded moto (no AWS account needed).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec eniops demo "$@"
