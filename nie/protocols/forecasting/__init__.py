"""The power-forecasting job's protocol: rolling-origin backtests (``train.py backtest``), whose
``backtest:`` section this package registers."""

from nie.cli.sections import register_section
from nie.protocols.forecasting.plan import BacktestPlan

register_section(
    "backtest",
    BacktestPlan,
    "In a power config: the origins of train.py backtest (ignored by the other subcommands).",
)
