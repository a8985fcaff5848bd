#!/usr/bin/env bash
# Fill .device/ (git-ignored) with what bench/device_check.sh needs on a GPU machine that reaches no
# package index and gets only the checkout: the FB15k and GEFCom2014 files, the feature cache (RGTN's
# text features need the text extra, which the GPU image lacks) and wheels of the packages it lacks.
# Then, with the device tool: run "bash bench/device_check.sh" carrying .device (about 35 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
data="${1:-../shared/data}"
rm -rf .device && mkdir -p .device/data/fb15k .device/data/power/gefcom2014_solar .device/cache .device/wheels
cp "$data"/fb15k/{fb15k_rel-all.txt.gz,node_info.tsv,rel_name.json} .device/data/fb15k/
cp "$data"/power/gefcom2014_solar/gefcom2014_solar_hourly.csv.gz .device/data/power/gefcom2014_solar/
cp .cache/nie/*.npy .device/cache/ 2>/dev/null || echo "note: .cache/nie is empty: run RGTN once here first"
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux2014_x86_64 -d .device/wheels \
    $(python -m pip list --format freeze | grep -iE '^(jsonargparse|docstring.parser|typeshed.client)==')
du -sh .device
