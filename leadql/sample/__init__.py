"""Realistic sample data for demos, tests and benchmarks.

    from leadql.sample import generate
    data = generate("sample", people=100_000, seed=7)
    ws.execute(data.catalog_script())        # every vendor as a SOURCE, the CRM data as TABLEs

A hidden true population (`data.truth_path`), a dozen vendors (`VENDORS`) that each hold a
different, overlapping share of it with their own ids, prices, quality, freshness, formats and
noise, the company's own CRM tables with planted signals, and `data.truth_links()` mapping every
vendor record to the real person, so entity resolution can be scored. Deterministic by seed.
"""

from __future__ import annotations

from leadql.sample.generator import SampleData, generate
from leadql.sample.population import AS_OF, CATEGORIES
from leadql.sample.vendors import VENDORS, VendorSpec


def truth_column(vendor: VendorSpec, category: str) -> str:
    """The truth column a vendor's category is compared with (b2b vendors sell work emails)."""
    return "work_email" if category == "email" and vendor.segment == "b2b" else category


__all__ = ["AS_OF", "CATEGORIES", "VENDORS", "SampleData", "VendorSpec", "generate", "truth_column"]
