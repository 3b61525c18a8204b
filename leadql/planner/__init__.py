"""Planning: binding statements to the catalog, the cost model, source selection, EXPLAIN."""
