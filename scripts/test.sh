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
# The release archives of this machine's target, made as the release workflow makes them
# (scripts/dist.sh builds, archives, checksums and runs each binary's --version).
bash scripts/dist.sh --out target/dist
