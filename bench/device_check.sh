#!/usr/bin/env bash
# The prepared GPU check (bench/device_check.py), run from anywhere: the project's packages come from
# this checkout (PYTHONPATH), nothing is fetched. Wheels that bench/device_prepare.sh put in .device/wheels
# (the packages a GPU image lacks: jsonargparse and its signature extras) are installed to a temporary
# folder first. Full mode within 8 minutes on one GPU; --smoke on CPU. PYTHON picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
if compgen -G ".device/wheels/*.whl" > /dev/null; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/nie-device-site .device/wheels/*.whl
    export PYTHONPATH="/tmp/nie-device-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" bench/device_check.py "$@"
