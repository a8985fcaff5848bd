#!/usr/bin/env bash
# The prepared GPU check (bench/device_check.py): run from anywhere; the project's packages come from
# this checkout (PYTHONPATH), nothing is installed. Full mode within 8 minutes on one GPU; --smoke on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec python bench/device_check.py "$@"
