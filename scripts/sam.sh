#!/usr/bin/env bash
# Run the AWS SAM CLI from its own virtual environment (.venv-sam: it pins its own boto3),
# offline: no telemetry, no account (validate --lint reads the template only).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-sam"
if [ ! -x "$venv/bin/sam" ]; then
  echo "setting up $venv with aws-sam-cli ..." >&2
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip >&2
  "$venv/bin/python" -m pip install --quiet aws-sam-cli >&2
fi
export SAM_CLI_TELEMETRY=0 AWS_ACCESS_KEY_ID=sam AWS_SECRET_ACCESS_KEY=sam
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
exec "$venv/bin/sam" "$@"
