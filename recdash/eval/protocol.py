"""The evaluation protocol: how a number was measured, carried by every result and shown beside it.

Sampled-negative metrics and full-ranking metrics differ by large factors (Krichene & Rendle,
KDD 2020), as do leave-one-out and temporal splits; a metric without its protocol is unreadable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SPLIT_NAMES = {"loo": "leave-one-out by time", "temporal": "global temporal split",
               "sessions": "sessions split by time, every prefix against its next item",
               "pairs": "given (prefix, next item) pairs"}
PER_PREFIX = ("sessions", "pairs")  # splits whose rows are prefixes, not users


@dataclass(frozen=True)
class Protocol:
    """How a result was measured.

    Attributes:
        split: a key of SPLIT_NAMES.
        stage: "test" or "valid".
        ranking: "full" (every candidate item ranked); sampled ranking is not offered.
        n_candidates: how many items were ranked.
        candidates: "catalog" (every catalog item) or "interacted" (items with events).
        ks: list lengths the metrics were computed at.
        exclude_seen: whether items in the user's history were removed from the ranking.
        kcore: k-core filter applied before splitting (0 = none).
        n_users: users evaluated (prefixes for the session split and given pairs).
    """

    split: str
    stage: str
    ranking: str
    n_candidates: int
    candidates: str
    ks: tuple[int, ...]
    exclude_seen: bool
    kcore: int
    n_users: int

    def label(self) -> str:
        """One line for people, e.g. 'leave-one-out by time, test; full ranking of ...'."""
        what = "items with events" if self.candidates == "interacted" else "catalog items"
        parts = [f"{SPLIT_NAMES.get(self.split, self.split)}, {self.stage}",
                 f"{self.ranking} ranking of {self.n_candidates:,} {what}",
                 "seen items excluded" if self.exclude_seen else "seen items kept",
                 f"{self.n_users:,} " + ("prefixes" if self.split == "sessions" else
                                         "pairs" if self.split == "pairs" else "users")]
        if self.split in PER_PREFIX:
            parts.append("P@k is the hit rate HR@k")
        if self.kcore:
            parts.insert(1, f"{self.kcore}-core")
        return "; ".join(parts)

    def badge(self) -> str:
        """A short tag for tables and charts, e.g. 'LOO·full/3,416·excl'."""
        split = {"loo": "LOO", "pairs": "pairs", "sessions": "sessions"}.get(self.split,
                                                                             "temporal")
        seen = "excl" if self.exclude_seen else "incl"
        return f"{split}·{self.ranking}/{self.n_candidates:,}·{seen}"

    def to_dict(self) -> dict:
        return {**asdict(self), "ks": list(self.ks), "label": self.label()}

    @classmethod
    def from_dict(cls, data: dict) -> "Protocol":
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**{**fields, "ks": tuple(fields["ks"])})
