"""What both jobs share: the command line, cross-validation, the base task, checkpoint naming,
atomic I/O, caching, seeding, errors and the DDP helpers. Imports nothing job-specific except in
the command-line layer (``cli``, ``cv``), which assembles everything."""
