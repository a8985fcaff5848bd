"""LightningModules: one base task, one task per problem (imported on first use: only NIE needs DGL)."""

from nie.lazy import lazy_exports

__all__ = ["NodeImportanceTask"]
__getattr__ = lazy_exports(__name__, {"NodeImportanceTask": "nie.tasks.importance"})
