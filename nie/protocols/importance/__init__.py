"""The node-importance job's protocols: k-fold cross-validation (``cv``) and ensembles of its configs."""
