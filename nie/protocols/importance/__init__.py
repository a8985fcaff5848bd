"""The node-importance job's protocols: k-fold cross-validation (``cv``) and ensembles of its configs, whose
``ensemble:`` section (a config file of its own) this package registers."""

from nie.cli.sections import register_section
from nie.protocols.importance.ensemble import EnsemblePlan

register_section("ensemble", EnsemblePlan, "An ensemble config's only section (train.py cv).", alone=True)
