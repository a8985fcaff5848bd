"""Reading a triples file: integer columns straight from the parser against text columns converted after.

    python bench/read_triples.py [PATH]     (default: the FB15k triples under ../shared/data/fb15k)

Each way runs in its own process (peak RSS is per process); the reader is imported before timing.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

WAYS = ("text columns", "integer columns")


def measure(path: Path, way: str) -> dict:
    import pandas as pd

    from datamodules.kg import io

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if way == "text columns":
        table = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False, compression="infer")
        [io._numeric(table[i], path, name, 1, integer=True) for i, name in enumerate(("src", "rel", "dst"))]
    else:
        io.read_triples(path, sys.maxsize)
    seconds = time.perf_counter() - start
    return {
        "way": way,
        "seconds": seconds,
        "peak_growth_mib": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024,
    }


def main() -> None:
    if len(sys.argv) == 3:
        print(json.dumps(measure(Path(sys.argv[1]), sys.argv[2])))
        return
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else next(Path("../shared/data/fb15k").glob("*rel-all*"))
    rows = [
        json.loads(
            subprocess.run(
                [sys.executable, __file__, str(path), way], capture_output=True, text=True, check=True
            ).stdout
        )
        for way in WAYS
    ]
    for row in rows:
        print(f"{row['way']:>16}: {row['seconds']:.2f} s, peak RSS growth {row['peak_growth_mib']:.0f} MiB")
    print(
        f"integer / text: time {rows[1]['seconds'] / rows[0]['seconds']:.2f}x, "
        f"memory {rows[1]['peak_growth_mib'] / max(rows[0]['peak_growth_mib'], 1):.2f}x"
    )


if __name__ == "__main__":
    main()
