"""LightningDataModules: knowledge graphs (node importance) and time series (power forecasting).

Each side is imported on first use, so one job never loads the other's code.
"""

from nie.core.lazy import lazy_exports

_HOMES = {
    "KnowledgeGraphDataModule": "datamodules.kg.datamodule",
    "SyntheticKnowledgeGraphDataModule": "datamodules.kg.datamodule",
    "DistributedKnowledgeGraphDataModule": "datamodules.kg.distributed",
    "PowerDataModule": "datamodules.power.datamodule",
}
__all__ = sorted(_HOMES)
__getattr__ = lazy_exports(__name__, _HOMES)
