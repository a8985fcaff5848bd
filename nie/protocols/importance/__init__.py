"""The node-importance job's protocols: k-fold cross-validation (``cv``) and ensembles of its configs, whose
``ensemble:`` config file (a section alone) ``ensemble.ensemble_section`` reads."""
