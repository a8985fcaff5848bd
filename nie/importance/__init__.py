"""Node importance estimation: the task, its networks, LICAP pre-training, metrics and losses.

Exports are imported on first use, so reading a config does not load every network.
"""

from nie.core.lazy import lazy_exports

_HOMES = {
    "NodeImportanceTask": "nie.importance.task",
    "LICAP": "nie.importance.licap",
    "InDegree": "nie.importance.models.baselines",
    "PageRank": "nie.importance.models.baselines",
    "PersonalizedPageRank": "nie.importance.models.baselines",
    "EASING": "nie.importance.models.easing",
    "GENI": "nie.importance.models.geni",
    "GAT": "nie.importance.models.gnn",
    "RGCN": "nie.importance.models.gnn",
    "RGTN": "nie.importance.models.rgtn",
    "SKES": "nie.importance.models.skes",
}
__all__ = sorted(_HOMES)
__getattr__ = lazy_exports(__name__, _HOMES)
