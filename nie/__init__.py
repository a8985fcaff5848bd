"""nie: node importance estimation on knowledge graphs and renewable power forecasting."""

__version__ = "0.1.0"
