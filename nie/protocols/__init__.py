"""Protocols: functions over an ``Experiment`` (``nie.cli.experiment``) that run it split by split.

``splits`` (one cv fold or backtest origin: fit, choose, test, read back), ``select`` (rank configs on
validation), ``importance`` (k-fold ``cross_validate``, ensembles, ``partition``) and ``forecasting``
(rolling-origin ``backtest``). Importing this package registers the ``backtest:`` section of a run's config
(``nie.cli.sections``); an ensemble's ``ensemble:`` file is read by ``importance.ensemble`` itself.
"""

import nie.protocols.forecasting  # noqa: F401  # registers the backtest: section
import nie.protocols.importance  # noqa: F401  # cv and ensembles
