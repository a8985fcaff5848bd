"""The command line: ``train.py`` and ``predict.py`` on LightningCLI, and each job's own protocols.

``parsing`` (includes, config arguments, one-line parse errors), ``exits`` (user errors as one line),
``checkpoints`` (finding and reading checkpoints), ``outputs`` (metrics JSON, predictions, the saved
config), ``lightning_cli`` (the ``LightningCLI`` subclass), ``select`` (ranking configurations on
validation, for any job) and ``importance`` (the node-importance protocols: k-fold cross-validation
and ensembles). Nothing outside this package and the entry points imports it.

Each protocol package registers its config section (``sections``) when imported here, so every parser the
command line builds knows them.
"""

import nie.cli.forecasting  # noqa: F401  # registers the backtest: section
