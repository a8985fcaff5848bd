"""Networks for node importance (plain nn.Modules, built from a GraphSpec)."""

from nie.models.baselines import InDegree, PageRank, PersonalizedPageRank
from nie.models.geni import GENI
from nie.models.gnn import GAT, RGCN
from nie.models.rgtn import RGTN

__all__ = ["GAT", "GENI", "InDegree", "PageRank", "PersonalizedPageRank", "RGCN", "RGTN"]
