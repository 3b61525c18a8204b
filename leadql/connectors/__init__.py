"""Connectors: one module per kind of source, all behind one small interface returning Arrow."""
