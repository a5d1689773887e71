#!/usr/bin/env bash
# ./render.sh — render the gpt-scenes scenes: set-up on first run, then every scene (or the
# ones named) in parallel to predictable names, with a summary table.
#
#   ./render.sh                           all scenes, -ql, into out/480p15/<scene>.mp4
#   ./render.sh attention softmax_temperature -q h
#   ./render.sh attention -qh -j 4        one scene as 4 pieces in parallel, joined losslessly
#   ./render.sh --stills --gif --lecture  + <scene>.png, <scene>.gif, lecture.mp4
#   ./render.sh --slides                  manim-slides + out/<q>/slides/<scene>.html, lecture.html
#   ./render.sh --course my-course.toml   use that course config
#   ./render.sh --ray [ADDRESS]           the jobs on a Ray cluster (installs the ray extra once)
#   ./render.sh --help                    every option
#
# Options are checked before the set-up (scripts/setup.sh: apt packages, .venv, pinned pips,
# the offline model; idempotent and quick when done) so a typo fails at once, exit 2.
# Ctrl-C / SIGTERM: every render stops, one line, exit 130 / 143.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SYSPY="$(command -v python3 || true)"
trap 'echo "render.sh: interrupted" >&2; exit 130' INT
trap 'echo "render.sh: terminated" >&2; exit 143' TERM

for a in "$@"; do
  case "$a" in
    -h|--help) exec "${SYSPY:-$ROOT/.venv/bin/python}" "$ROOT/scripts/render.py" --help ;;
  esac
done
if [ -n "$SYSPY" ]; then
  "$SYSPY" "$ROOT/scripts/render.py" --args-only "$@" || exit $?
fi

setup=()
for a in "$@"; do [ "$a" = "--ray" ] && setup=(--ray); done   # the ray extra, once
"$ROOT/scripts/setup.sh" "${setup[@]}"
exec "$ROOT/.venv/bin/python" "$ROOT/scripts/render.py" "$@"
