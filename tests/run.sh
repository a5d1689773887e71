#!/usr/bin/env bash
# The test command: set-up (idempotent, quick when done), then the whole suite.
#   tests/run.sh            all tests
#   tests/run.sh -k cache   extra arguments go to pytest
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$ROOT/scripts/setup.sh" --ray     # with the optional ray extra: tests/test_render_ray.py uses it
cd "$ROOT"
export HF_HUB_OFFLINE=1          # tests never reach for the hub
# pytest-xdist (requirements.txt): one worker per core; the tests of one scene go to one
# worker (tests/conftest.py: xdist_group), which renders that scene once for all of them,
# and the groups are handed out heaviest first (--no-loadscope-reorder keeps conftest's
# order) so the workers end together. PYTEST_WORKERS=0 runs in this process.
if [ "${PYTEST_WORKERS:-auto}" != 0 ] && "$ROOT/.venv/bin/python" -c "import xdist" 2>/dev/null; then
  set -- -n "${PYTEST_WORKERS:-auto}" --dist loadgroup --no-loadscope-reorder "$@"
fi
# the slowest tests are listed at the end (the suite's time goal: ≤ 12 min on 2 cores)
exec "$ROOT/.venv/bin/python" -m pytest -q --durations=25 "$@"
