"""How one interaction moves a relationship. Pure functions of the values before it.

With q the interaction's quality (-1..1) and w its kind's weight (chat 1, help/support/conflict
1.3, gift/collaboration 1.2, insult 1.5, betrayal 2; anything else 1):

  affinity     += 0.12 w q (1 - affinity)   when q > 0     (gains shrink as it nears 1)
               += 0.12 w q (1 + affinity)   when q < 0     (losses shrink as it nears -1)
  trust        += 0.06 w q (1 - trust)      when q > 0     (trust is slow to earn ...)
               += 0.20 w q trust            when q < 0     (... and quick to lose)
  familiarity  += 0.08 (1 - familiarity) (0.5 + 0.5 |q|)    (any interaction, more if it mattered)

Every step is a fraction of the distance left to the bound, so values never leave their range and
repeated interactions have diminishing returns.

Type path (unless the type was set explicitly): stranger -> acquaintance after the first
interaction; friend at affinity >= 0.3, trust >= 0.4, familiarity >= 0.3; close_friend at
affinity >= 0.6, trust >= 0.6, familiarity >= 0.6; on the other side rival at affinity <= -0.25
with familiarity >= 0.15, and enemy at affinity <= -0.6 with familiarity >= 0.3. A type, once
reached, is kept until the values fall 0.1 past the thresholds that earned it (no flapping).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["KIND_WEIGHTS", "NEUTRAL", "Bond", "apply", "natural_type"]

KIND_WEIGHTS = {
    "chat": 1.0,
    "help": 1.3,
    "support": 1.3,
    "gift": 1.2,
    "collaboration": 1.2,
    "apology": 1.0,
    "conflict": 1.3,
    "insult": 1.5,
    "betrayal": 2.0,
}
_AFFINITY_STEP, _TRUST_GAIN, _TRUST_LOSS, _FAMILIARITY_STEP = 0.12, 0.06, 0.20, 0.08
_HYSTERESIS = 0.1
# Where each automatic type sits: positive ladder up, negative ladder down.
_RANK = {"stranger": 0, "acquaintance": 1, "friend": 2, "close_friend": 3, "rival": -2, "enemy": -3}


@dataclass(frozen=True)
class Bond:
    """The values of a relationship."""

    type: str
    affinity: float
    trust: float
    familiarity: float
    interaction_count: int
    type_locked: bool = False


NEUTRAL = Bond(type="stranger", affinity=0.0, trust=0.3, familiarity=0.0, interaction_count=0)


def _clip(value: float, low: float, high: float, old: float) -> float:
    """`value` within [low, high], rounded to 6 places; a move smaller than that rounding keeps
    `old` rather than rounding the wrong way (trust 0.99999404 plus a tiny gain rounded down)."""
    settled = round(min(high, max(low, value)), 6)
    return old if (settled - old) * (value - old) < 0 else settled


def _qualifies(kind: str, bond: Bond, slack: float = 0.0) -> bool:
    a, t, f = bond.affinity, bond.trust, bond.familiarity
    if kind == "enemy":
        return a <= -0.6 + slack and f >= 0.3 - slack
    if kind == "rival":
        return a <= -0.25 + slack and f >= 0.15 - slack
    if kind == "close_friend":
        return a >= 0.6 - slack and t >= 0.6 - slack and f >= 0.6 - slack
    if kind == "friend":
        return a >= 0.3 - slack and t >= 0.4 - slack and f >= 0.3 - slack
    if kind == "acquaintance":
        return bond.interaction_count >= 1
    return True  # stranger


def natural_type(bond: Bond) -> str:
    """The type the values call for, keeping the current automatic type while it still holds."""
    target = next(
        kind
        for kind in ("enemy", "rival", "close_friend", "friend", "acquaintance", "stranger")
        if _qualifies(kind, bond)
    )
    current = bond.type
    if current in _RANK and current != target:
        same_side = _RANK[current] * _RANK[target] >= 0
        weaker = abs(_RANK[target]) < abs(_RANK[current])
        if same_side and weaker and _qualifies(current, bond, _HYSTERESIS):
            return current
    return target


def apply(bond: Bond, kind: str, quality: float) -> Bond:
    """The relationship after one interaction of `kind` and `quality`."""
    weight = KIND_WEIGHTS.get(kind, 1.0)
    push = weight * quality
    if quality >= 0:
        affinity = bond.affinity + _AFFINITY_STEP * push * (1 - bond.affinity)
        trust = bond.trust + _TRUST_GAIN * push * (1 - bond.trust)
    else:
        affinity = bond.affinity + _AFFINITY_STEP * push * (1 + bond.affinity)
        trust = bond.trust + _TRUST_LOSS * push * bond.trust
    familiarity = bond.familiarity + _FAMILIARITY_STEP * (1 - bond.familiarity) * (0.5 + 0.5 * abs(quality))
    moved = replace(
        bond,
        affinity=_clip(affinity, -1.0, 1.0, bond.affinity),
        trust=_clip(trust, 0.0, 1.0, bond.trust),
        familiarity=_clip(familiarity, 0.0, 1.0, bond.familiarity),
        interaction_count=bond.interaction_count + 1,
    )
    if bond.type_locked:
        return moved
    return replace(moved, type=natural_type(moved))
