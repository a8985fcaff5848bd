"""Node-importance networks: plain ``nn.Module``s built from a ``GraphSpec`` (exported by ``nie.importance``)."""
