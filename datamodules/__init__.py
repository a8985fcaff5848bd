"""LightningDataModules: knowledge graphs (node importance) and time series (power forecasting)."""

from datamodules.kg.datamodule import KnowledgeGraphDataModule, SyntheticKnowledgeGraphDataModule

__all__ = ["KnowledgeGraphDataModule", "SyntheticKnowledgeGraphDataModule"]
