"""The power-forecasting job's protocol: rolling-origin backtests (``train.py backtest``)."""
