"""What both jobs share: the base task, contracts between the command line, datamodules and tasks, run
naming and settings, atomic I/O, caching, seeding, errors and the DDP helpers. Imports nothing else of
the project (the command line lives in ``nie.cli``)."""
