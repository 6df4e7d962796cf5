#!/usr/bin/env bash
# Builds the C++ tests with AddressSanitizer and UndefinedBehaviorSanitizer (-fno-sanitize-recover:
# the first report fails the test) and runs them, the bad-input corpus included. Not part of
# .ci/run: the instrumented build and run take about half an hour on two cores.
#   bash tools/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset asan-ubsan
cmake --build --preset asan-ubsan -j2
ctest --preset asan-ubsan --output-on-failure -j2
