"""The command line under ``train.py`` and ``predict.py`` (ARCHITECTURE.md lists its modules); the protocols
built on it live in ``nie.protocols``, which nothing here imports."""
