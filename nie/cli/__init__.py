"""The command line under ``train.py`` and ``predict.py``: LightningCLI with the project's defaults
(``lightning_cli``), config arguments and ``include:`` (``parsing``), one-line errors (``exits``), run
folders and checkpoints (``checkpoints``), what a run writes (``outputs``), one run's config parsed once
(``experiment``), predicting from a run folder (``predicting``) and the protocols' config sections
(``sections``). The protocols built on it live in ``nie.protocols``; nothing here imports them.
"""
