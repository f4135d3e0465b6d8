#!/usr/bin/env bash
# A release, in one command, up to (not including) publishing: the sdist and the wheel,
# checked with `twine check --strict`; the Lambda's deployment artefact (the handler's modules
# and their dependencies, zipped, as `template.yaml`'s CodeUri takes them); the release notes
# (CHANGELOG.md's top section); and SHA256SUMS of them all, in OUT (default dist/).
# Publishing is by hand, once the release is tagged: twine upload OUT/*.whl OUT/*.tar.gz
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh" || exit 1
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
rm -rf "${out:?}"/*
version=$(python -c 'import eniops; print(eniops.__version__)')

echo "== sdist and wheel of eniops $version"
python -m build --sdist --wheel --outdir "$out" . >/dev/null
python -m twine check --strict "$out"/*.whl "$out"/*.tar.gz

echo "== the Lambda's artefact"
python scripts/lambda_bundle.py >/dev/null
python -m pip install --quiet --target build/lambda -r build/lambda/requirements.txt
(cd build/lambda && python -m zipfile -c "$out/eniops-lambda-$version.zip" .)

echo "== release notes and checksums"
python - "$out/RELEASE_NOTES.md" <<'PY'
import sys
from pathlib import Path

text = Path("CHANGELOG.md").read_text()
sections = text.split("\n## ")
top = sections[1] if len(sections) > 1 else ""
if not top.strip():
    sys.exit("CHANGELOG.md has no section to release")
Path(sys.argv[1]).write_text("## " + top.strip() + "\n")
PY
(cd "$out" && sha256sum -- * > SHA256SUMS && sha256sum --check --quiet SHA256SUMS)
ls -1 "$out"
