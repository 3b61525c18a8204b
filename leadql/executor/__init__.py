"""Execution of physical plans: parallel scans, staging, resolution, fusion, scoring, sinks."""
