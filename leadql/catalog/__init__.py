"""The catalog: what a workspace knows (sources, tables, categories, statistics), kept in the
workspace's DuckDB database under the `leadql` schema, with versioned migrations."""
