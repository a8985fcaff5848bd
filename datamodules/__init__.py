"""LightningDataModules: knowledge graphs (node importance) and time series (power forecasting).

The knowledge-graph side is imported on first use, so power forecasting runs without DGL.
"""

from nie.lazy import lazy_exports

__all__ = ["KnowledgeGraphDataModule", "SyntheticKnowledgeGraphDataModule"]
__getattr__ = lazy_exports(__name__, {name: "datamodules.kg.datamodule" for name in __all__})
