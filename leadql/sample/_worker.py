"""Worker process of the sample generator: `python -m leadql.sample._worker JOBS.json i j ...`
runs jobs i, j, ... of the file (see `generator._run`)."""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from leadql.sample.generator import run_job

    spec = json.loads(open(argv[0], encoding="utf-8").read())
    for index in argv[1:]:
        run_job(spec["context"], spec["jobs"][int(index)])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
