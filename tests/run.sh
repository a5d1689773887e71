#!/usr/bin/env bash
# The test command: set-up (idempotent, quick when done), then the whole suite.
#   tests/run.sh            all tests
#   tests/run.sh -k cache   extra arguments go to pytest
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --ray     # with the optional ray extra: tests/test_render_ray.py uses it
cd "$ROOT"
export HF_HUB_OFFLINE=1          # tests never reach for the hub
exec "$ROOT/.venv/bin/python" -m pytest -q "$@"
