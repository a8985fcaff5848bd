"""LICAP: label-informed contrastive pre-training, a plug-in stage for any NIE model."""

from nie.importance.licap.pretrain import LICAP

__all__ = ["LICAP"]
