"""Control groups by design: a deterministic random holdback per play.

An account triggered for a play is held back (arm "control") when a uniform draw made from a
hash of (account, play, as_of month) falls below the play's `control_share`. The draw needs no
seed and no state: the same account, play and month give the same arm on any machine and on
any rerun, so the assignment can be rebuilt from the written file alone, and the draws of
different plays and months are independent. A month, not a day: rescoring during the month
never flips an account between arms.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

TREATED = "treated"
CONTROL = "control"
# The plays table's vocabulary (features.contract.PLAY_ASSIGNMENTS): a holdback by draw is a
# random assignment, a play every triggered account gets is a rule.
RANDOM = "random"
RULE = "rule"
_SCALE = float(2**64)


def control_draw(account_id: str, play: str, as_of: pd.Timestamp | str) -> float:
    """A uniform number in [0, 1) fixed by the account, the play and the month of `as_of`."""
    month = pd.Timestamp(as_of).strftime("%Y-%m")
    key = "\x1f".join((str(account_id), play, month)).encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / _SCALE


def arms(account_ids: pd.Series, play: str, as_of: pd.Series, control_share: float) -> pd.Series:
    """ "control" for the accounts whose draw is below `control_share`, else "treated"."""
    if not 0.0 <= control_share < 1.0:
        raise ValueError(f"control_share of {play!r} must be in [0, 1), got {control_share}")
    if control_share == 0.0:
        return pd.Series(TREATED, index=account_ids.index)
    draws = np.array(
        [control_draw(a, play, d) for a, d in zip(account_ids, as_of, strict=True)], dtype=float
    )
    return pd.Series(np.where(draws < control_share, CONTROL, TREATED), index=account_ids.index)


def assignment_of(control_share: float) -> str:
    return RANDOM if control_share > 0.0 else RULE
