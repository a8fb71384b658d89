#!/usr/bin/env bash
# Installs everything the test suite needs, idempotently, into .tools/ (and apt for system tools),
# with the install functions of scripts/lib.sh (which scripts/demo.sh uses too).
# Shared by `scripts/test.sh` (the README's test command) and `.ci/run`.
#
#   .tools/venv      Python virtualenv: fake-gcs-server (GCS emulator), checkov, hadolint, zizmor, actionlint
#   .tools/bin       stable names for the tools: fake-gcs-server, checkov, hadolint, zizmor, actionlint
#   .tools/discovery the Monitoring and Logging APIs' discovery documents (google-api-python-client)
#
# gcloud (with the Pub/Sub emulator), terraform and java come with the machine; the tests that need
# them fail naming the missing one.
#
# Re-running is cheap: each step checks whether its result is already there.
set -euo pipefail

tools_said=install-test-deps
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- apt: shellcheck -------------------------------------------------------------------------
install_apt shellcheck shellcheck

# --- Python tools in the project's virtualenv ------------------------------------------------
install_py_tools fake-gcs-server checkov hadolint zizmor actionlint

# --- Provider schemas and PromQL parser (provisioner/tests/provider_schema.rs, alerting.rs) ----
# The google provider's schema at the module's floor and newest supported versions, from the JSII
# assemblies of the PyPI packages cdktn-provider-google (19.10.0 is google 7.41.0, 21.1.0 is 8.7.0),
# extracted once to .tools/provider-schema/VERSION/.jsii; and promql-parser, which parses the silence
# alert's PromQL.
"$tools_venv/bin/python" -c 'import promql_parser' 2>/dev/null || {
  tools_log "pip install promql-parser"
  "$tools_venv/bin/pip" install --quiet --disable-pip-version-check promql-parser==0.11.0
}
schemas="$tools_dir/provider-schema"
for pair in 7.41.0=19.10.0 8.7.0=21.1.0; do
  google=${pair%%=*}
  package=${pair#*=}
  [ -s "$schemas/$google/schema.json" ] && continue
  if [ ! -s "$schemas/$google/.jsii" ]; then
    tools_log "provider schema: google $google (cdktn-provider-google $package)"
    work=$(mktemp -d)
    "$tools_venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --dest "$work" \
      "cdktn-provider-google==$package"
    "$tools_venv/bin/python" - "$work" "$schemas/$google" "$package" <<'PY'
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
  "$tools_venv/bin/python" "$(dirname "${BASH_SOURCE[0]}")/provider-schema.py" "$schemas/$google/.jsii" "$schemas/$google/schema.json" >&2
done

# --- Google API discovery documents (provisioner/tests/dashboard.rs) ---------------------------
# The Monitoring API's (monitoring.v1: Dashboard) and the Logging API's (logging.v2: LogMetric)
# published schemas, from the discovery cache that the PyPI package google-api-python-client ships;
# only the two documents are kept, in .tools/discovery/, so the package's dependencies are not
# needed. The dashboard test walks the rendered dashboard and metrics against them.
discovery="$tools_dir/discovery"
api_client=2.202.0
if [ ! -s "$discovery/$api_client/monitoring.v1.json" ] || [ ! -s "$discovery/$api_client/logging.v2.json" ]; then
  tools_log "discovery documents: google-api-python-client $api_client"
  work=$(mktemp -d)
  "$tools_venv/bin/pip" download --quiet --disable-pip-version-check --no-deps --dest "$work" \
    "google-api-python-client==$api_client"
  "$tools_venv/bin/python" - "$work" "$discovery/$api_client" <<'PY'
import glob, os, sys, zipfile
work, dest = sys.argv[1:]
wheel, = glob.glob(os.path.join(work, "*.whl"))
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for document in ("monitoring.v1.json", "logging.v2.json"):
        data = z.read("googleapiclient/discovery_cache/documents/" + document)
        with open(os.path.join(dest, document + ".tmp"), "wb") as f:
            f.write(data)
        os.replace(os.path.join(dest, document + ".tmp"), os.path.join(dest, document))
PY
  rm -rf "$work"
fi
tools_log "ready: $(find "$tools_bin" -mindepth 1 -maxdepth 1 -printf '%f ')"
