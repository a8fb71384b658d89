#!/usr/bin/env bash
# The project's one test command (README "Test"): installs what the tests need, then runs
# formatting, lints and the whole test suite against real emulators on loopback.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/install-test-deps.sh
export PATH="$root/.tools/bin:$PATH"

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
