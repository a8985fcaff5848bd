"""Networks for node importance (plain nn.Modules, built from a GraphSpec), imported on first use
so that the forecasting networks beside them load without DGL."""

from nie.lazy import lazy_exports

_HOMES = {"InDegree": "nie.models.baselines", "PageRank": "nie.models.baselines",
          "PersonalizedPageRank": "nie.models.baselines", "GENI": "nie.models.geni", "GAT": "nie.models.gnn",
          "RGCN": "nie.models.gnn", "RGTN": "nie.models.rgtn"}
__all__ = sorted(_HOMES)
__getattr__ = lazy_exports(__name__, _HOMES)
