"""Knowledge-graph loading, splitting and node features."""
