"""The save loop, part 1: a play, an owner and a review date for every account at risk or ready
to expand (issue 20).

`recommend(scores, features, config, expansion_ready_from=...)` returns every play of the
`[playbook]` that fires for each scored account, ranked (rank 1 is the account's play);
`primary` keeps rank 1, `recommended_plays` gives the API's per-account lists, `summarize` and
`by_owner` what an assignment covers. The package reads scores and features, never serving.
"""

from playbook.recommend import (
    PLAY_COLUMNS,
    RECOMMENDED_FIELDS,
    expansion_ready_from,
    primary,
    recommend,
    recommended_plays,
)
from playbook.summary import by_owner, summarize

__all__ = [
    "PLAY_COLUMNS",
    "RECOMMENDED_FIELDS",
    "by_owner",
    "expansion_ready_from",
    "primary",
    "recommend",
    "recommended_plays",
    "summarize",
]
