"""Bottom-k (KMV) sketches of identity keys, for estimating how far two sources overlap.

ANALYZE keeps the k smallest 64-bit hashes of a source's distinct normalised emails (phones,
name+zip). Two such sketches estimate the Jaccard similarity of the underlying key sets, and with
the distinct counts, the size of their intersection, without reading either source again.
(Broder 1997; Beyer et al., "On synopses for distinct-value estimation", SIGMOD 2007.)
"""

from __future__ import annotations

from dataclasses import dataclass

K = 1024
HASH_SPACE = 2**64


@dataclass(frozen=True)
class Sketch:
    hashes: tuple[int, ...]  # ascending, distinct, at most K
    distinct: int  # exact when fewer than K keys, else the KMV estimate

    @staticmethod
    def from_hashes(hashes: list[int], k: int = K) -> Sketch:
        smallest = sorted(set(hashes))[:k]
        if len(smallest) < k:
            return Sketch(tuple(smallest), len(smallest))
        estimate = int((k - 1) * HASH_SPACE / (smallest[-1] + 1))
        return Sketch(tuple(smallest), estimate)

    def to_json(self) -> dict[str, object]:
        return {"hashes": list(self.hashes), "distinct": self.distinct}

    @staticmethod
    def from_json(data: dict[str, object]) -> Sketch:
        return Sketch(tuple(int(h) for h in data["hashes"]), int(data["distinct"]))  # type: ignore[union-attr,arg-type]


def jaccard(a: Sketch, b: Sketch) -> float:
    """Estimated |A ∩ B| / |A ∪ B|."""
    if not a.hashes or not b.hashes:
        return 0.0
    k = min(len(a.hashes), len(b.hashes))
    union_smallest = sorted(set(a.hashes) | set(b.hashes))[:k]
    in_both = set(a.hashes) & set(b.hashes)
    return sum(1 for h in union_smallest if h in in_both) / len(union_smallest)


def overlap(a: Sketch, b: Sketch) -> int:
    """Estimated number of keys the two sources share."""
    j = jaccard(a, b)
    return round(j * (a.distinct + b.distinct) / (1 + j)) if j else 0
