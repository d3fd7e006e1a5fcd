"""How a dataset is measured unless the analyst says otherwise: one place for the defaults that
the CLI, the Train page and the baselines beside a run share.

A log of anonymous sessions is measured the way session-based recommendation is (sessions split
by time, every prefix against its next item, items already in the session kept as candidates);
a log of shoppers by leave-one-out, with seen items kept where shoppers' last events often return
to an item they had (a purchase of a viewed product, a purchase again): there "buy again" is part
of what a shop should recommend, and leaving seen items out would make those targets
unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass

REPEAT_HEAVY = 0.10  # this share of last events that return to a seen item keeps seen items


@dataclass(frozen=True)
class ProtocolDefaults:
    """The default split and seen-item rule of a dataset, and why, in words."""

    split: str
    exclude_seen: bool
    why: str


def protocol_defaults(stats: dict) -> ProtocolDefaults:
    """The defaults for a dataset from its report's stats (`ValidationReport.stats`)."""
    share, rebuy = stats.get("repeat_share"), stats.get("rebuy_share")
    repeats = f"{share:.0%} of events return to an item of their sequence" \
        if share is not None else "the share of repeats is unknown (import it again to see it)"
    if stats.get("sequences") == "sessions":
        if stats.get("first_event"):
            return ProtocolDefaults("sessions", False, "a log of sessions: the last days' "
                                    "sessions are tested, every prefix against its next item, "
                                    f"with seen items kept ({repeats})")
        return ProtocolDefaults("loo", False, "a log of sessions without timestamps: each "
                                "session's last item is tested, with seen items kept "
                                f"({repeats})")
    last = stats.get("last_repeat_share")
    again = f"{rebuy:.0%} of purchases repeat an earlier one" if rebuy is not None else \
        "the log has no purchases"
    if last is not None and last >= REPEAT_HEAVY:
        return ProtocolDefaults("loo", False, f"shoppers come back to items: {last:.0%} of "
                                "their last events return to an item already in their history "
                                f"({again}), so seen items stay candidates (a buy-again slot)")
    if last is None and rebuy is not None and rebuy >= REPEAT_HEAVY:  # imported before
        return ProtocolDefaults("loo", False, f"shoppers buy again: {again}, so bought items "
                                "stay candidates (a buy-again slot)")
    returns = f"{last:.0%} of last events return to a seen item" if last is not None else again
    return ProtocolDefaults("loo", True, f"each shopper's last event is tested; {returns}, so "
                            "items already in the history are left out")
