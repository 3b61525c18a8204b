"""Generate LeadQL's sample world: a hidden population, a dozen vendors' files and CRM tables.

    python examples/generate_sample_data.py --people 100000 --seed 7 --out sample
    leadql -d sales.leadql run sample/catalog.lql      # register every vendor and CRM table

Prints the path of the catalog script (CREATE SOURCE / CREATE TABLE statements for the files).
"""

from __future__ import annotations

import argparse
import sys
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--people", type=int, default=10_000, help="population size (default 10,000)"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--out", default="sample", help="output folder (default ./sample)")
    parser.add_argument("--no-crm", action="store_true", help="skip the CRM tables")
    parser.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: by size)"
    )
    args = parser.parse_args(argv)
    if args.people < 10:
        parser.error("--people must be at least 10")

    from leadql.sample import generate

    started = time.perf_counter()
    data = generate(
        args.out, people=args.people, seed=args.seed, crm=not args.no_crm, workers=args.workers
    )
    elapsed = time.perf_counter() - started
    print(
        f"{data.people:,} people, {len(data.vendor_files)} vendors, seed {data.seed}: "
        f"{data.folder} in {elapsed:.1f}s",
        file=sys.stderr,
    )
    print(data.catalog_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
