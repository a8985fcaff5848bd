"""Whether a graph fits full-batch training, said before it is loaded.

A full-batch step holds per-edge tensors for the whole graph, so its memory grows with the edge count,
which the triples file's size gives before a line is parsed: reading a large graph for minutes only to
run out of memory in the first step is the failure this prevents. Sampled training has no such bound.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Optional

from nie.core.errors import ConfigError

SAMPLE_BYTES = 1 << 20  # enough lines for a stable bytes-per-line figure
# a 5-epoch full-batch fit's peak RSS per triple on FB15k: GENI 1.8 KB, RGTN 2.6 KB (BENCHMARKS.md)
FULL_BATCH_BYTES_PER_EDGE = 3072


def estimated_lines(path: Path) -> int:
    """The number of lines in ``path`` (plain or gzip text), exact when it is under a MiB. Otherwise plain
    text is sampled at its start, middle and end (sorted triples have shorter lines first); gzip can
    only be read from its start."""
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(SAMPLE_BYTES)
        if path.suffix == ".gz":
            return _gzip_lines(head, size)
        if len(head) == size:
            return head.count(b"\n") + (bool(head) and not head.endswith(b"\n"))
        chunks = [head]
        for offset in (size // 2, size - SAMPLE_BYTES):
            f.seek(max(offset, SAMPLE_BYTES))
            chunks.append(f.read(SAMPLE_BYTES))
    sampled = sum(len(c) for c in chunks)
    return round(sum(c.count(b"\n") for c in chunks) * size / sampled)


def _gzip_lines(head: bytes, size: int) -> int:
    stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        lines = stream.decompress(head).count(b"\n")
    except zlib.error:
        return 0  # not gzip after all: the reader says so in its own words
    return lines if stream.eof or not head else round(lines * size / len(head))


def available_memory() -> Optional[int]:
    """Bytes this process can still allocate: the kernel's MemAvailable, capped by a cgroup limit; None
    where neither can be read (the check is then skipped)."""
    limits = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append(int(line.split()[1]) * 1024)
    except OSError:
        pass
    try:
        ceiling = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if ceiling != "max":
            used = int(Path("/sys/fs/cgroup/memory.current").read_text())
            limits.append(int(ceiling) - used)
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


def check_full_batch_fits(triples: Optional[Path], bytes_per_edge: int, available: Optional[int] = None) -> None:
    """Stop in one line when ``triples`` has more edges than full-batch training can hold in memory (no
    file, as for the pickle layout: nothing to check)."""
    if triples is None or not triples.is_file():
        return
    available = available_memory() if available is None else available
    if available is None:
        return
    edges = estimated_lines(triples)
    needed = edges * bytes_per_edge
    if needed > available:
        raise ConfigError(
            f"{triples}: about {edges:,} edges (from the file's size) need about {_size(needed)} "
            f"in full-batch training (data.full_batch_bytes_per_edge={bytes_per_edge}), more than the "
            f"{_size(available)} available: train on sampled neighbourhoods instead "
            "(data.batch_size and data.fanouts)"
        )


def _size(count: int) -> str:
    return f"{count / 2**30:.1f} GiB" if count >= 2**30 else f"{count / 2**20:.1f} MiB"
