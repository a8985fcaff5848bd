"""Time series of stations (power + weather forecasts) for multi-horizon forecasting."""
