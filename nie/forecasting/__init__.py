"""Power forecasting: the task, the LSTM, the baselines, error metrics and plots.

Exports are imported on first use, so reading a config does not load every network.
"""

from nie.core.lazy import lazy_exports

_HOMES = {
    "PowerForecastTask": "nie.forecasting.task",
    "LSTMForecaster": "nie.forecasting.models",
    "ForecasterEnsemble": "nie.forecasting.ensemble",
    "Persistence": "nie.forecasting.baselines",
    "Climatology": "nie.forecasting.baselines",
    "NWPRegression": "nie.forecasting.baselines",
    "LightGBMQuantiles": "nie.forecasting.gbdt",
}
__all__ = sorted(_HOMES)
__getattr__ = lazy_exports(__name__, _HOMES)
