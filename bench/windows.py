"""Training dataloader throughput (windows/s) and peak memory against the number of windows.

    python bench/windows.py [--days 90 360 1440] [--stations 3]

Each size runs in a fresh subprocess on a generated hourly series (seq_len 168, horizon 24,
stride 1, batch 64) so peak RSS belongs to that size alone. Windows are indices into the
per-station arrays, so memory should grow with the series length, not with windows x seq_len.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(days: int, stations: int) -> dict:
    import pandas as pd

    from datamodules.power.datamodule import PowerDataModule
    from tests.power_data import make_power_table

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "series.csv"
        make_power_table(stations=stations, days=days).to_csv(path, index=False)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        first_day = pd.Timestamp("2020-01-01")
        dm = PowerDataModule(
            path=str(path),
            known_covariates=["irradiance", "temperature"],
            accumulated=["irradiance"],
            val_start=str(first_day + pd.Timedelta(days=days - 20)),
            test_start=str(first_day + pd.Timedelta(days=days - 10)),
            seq_len=168,
            horizon=24,
            stride=1,
            batch_size=64,
        )
        dm.setup()
        windows = len(dm.datasets["train"])
        start = time.perf_counter()
        seen = sum(len(batch) for batch in dm.train_dataloader())
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "days": days,
        "windows": windows,
        "windows_per_s": seen / seconds,
        "peak_rss_mib": round(peak / 1024),
        "growth_mib": round((peak - before) / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, nargs="+", default=[90, 360, 1440])
    parser.add_argument("--stations", type=int, default=3)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.stations)))
        return
    print("| days | training windows | windows / s | peak RSS (MiB) | RSS growth while loading (MiB) |")
    print("|---|---|---|---|---|")
    for days in args.days:
        out = (
            subprocess.run(
                [sys.executable, __file__, "--one", str(days), "--stations", str(args.stations)],
                capture_output=True,
                text=True,
                check=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        r = json.loads(out)
        print(
            f"| {r['days']} | {r['windows']} | {r['windows_per_s']:.0f} | {r['peak_rss_mib']} | {r['growth_mib']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
