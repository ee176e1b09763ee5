"""Graph step of spray.distributed: join fingerprint groups that target the same accounts.

Nodes are time-local fingerprint groups (``dist_groups``); an edge joins two groups whose time
spans touch (within the campaign gap) and that share their targets or their sources: Jaccard
similarity of the targeted accounts, or of the source addresses, at least ``merge_jaccard``. A
campaign rotating user agents or applications reuses its target list or its proxies.
Connected components (union-find) become campaigns, written to ``dist_campaign_of``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa

from nightowl.store import Store
from nightowl.unionfind import UnionFind

MAX_GROUPS_COMPARED = 20_000  # beyond this, only groups with 2+ users are compared (singletons stay alone)


def merge_groups(store: Store, params: dict[str, Any]) -> None:
    rows = store.con.execute(
        "SELECT group_id, first_seen, last_seen, users, sources_list FROM dist_groups ORDER BY first_seen"
    ).fetchall()
    threshold = float(params["merge_jaccard"])
    gap = timedelta(hours=float(params["campaign_gap_hours"]))
    groups = [(gid, start, end, set(users), set(srcs)) for gid, start, end, users, srcs in rows]
    if len(groups) > MAX_GROUPS_COMPARED:
        groups = [g for g in groups if len(g[3]) > 1 or len(g[4]) > 1]
    uf = UnionFind([g[0] for g in groups])
    _join_by_shared(uf, groups, 3, threshold, gap)  # the same target accounts
    _join_by_shared(uf, groups, 4, threshold, gap)  # the same proxy addresses
    table = pa.table(
        {
            "group_id": pa.array([g[0] for g in groups], pa.string()),
            "campaign_id": pa.array([uf.find(g[0]) for g in groups], pa.string()),
        }
    )
    store.con.register("_campaign_of", table)
    store.con.execute("INSERT INTO dist_campaign_of SELECT * FROM _campaign_of")
    store.con.unregister("_campaign_of")


def _join_by_shared(uf: UnionFind, groups: list, field: int, threshold: float, gap: timedelta) -> None:
    """Union groups whose sets in ``field`` overlap (Jaccard >= threshold) and whose spans touch.

    An inverted index (member -> groups) means only groups that share something are compared."""
    index: dict[str, list[int]] = {}
    for idx, group in enumerate(groups):
        for member in group[field]:
            index.setdefault(member, []).append(idx)
    compared: set[tuple[int, int]] = set()
    for members in index.values():
        for pos, i in enumerate(members):
            for j in members[pos + 1 :]:
                if (i, j) in compared:
                    continue
                compared.add((i, j))
                gi, gj = groups[i], groups[j]
                if gi[1] > gj[2] + gap or gj[1] > gi[2] + gap:
                    continue
                if len(gi[field] & gj[field]) / len(gi[field] | gj[field]) >= threshold:
                    uf.union(gi[0], gj[0])
