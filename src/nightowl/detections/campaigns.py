"""Graph step of spray.distributed: join fingerprint groups that target the same accounts.

Nodes are time-local fingerprint groups (``dist_groups``); an edge joins two groups whose target
sets overlap (Jaccard >= ``merge_jaccard``) and whose time spans overlap within the campaign gap.
Connected components (union-find) become campaigns, written to ``dist_campaign_of``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyarrow as pa

from nightowl.store import Store

MAX_GROUPS_COMPARED = 20_000  # beyond this, only groups with 2+ users are compared (singletons stay alone)


class UnionFind:
    def __init__(self, items: list[str]) -> None:
        self.parent = {i: i for i in items}

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def merge_groups(store: Store, params: dict[str, Any]) -> None:
    rows = store.con.execute(
        "SELECT group_id, first_seen, last_seen, users FROM dist_groups ORDER BY first_seen"
    ).fetchall()
    threshold = float(params["merge_jaccard"])
    gap = timedelta(hours=float(params["campaign_gap_hours"]))
    groups = [(gid, start, end, set(users)) for gid, start, end, users in rows]
    if len(groups) > MAX_GROUPS_COMPARED:
        groups = [g for g in groups if len(g[3]) > 1]
    uf = UnionFind([g[0] for g in groups])
    # Inverted index user -> groups, so only groups sharing a target are compared.
    by_user: dict[str, list[int]] = {}
    for idx, (_, _, _, users) in enumerate(groups):
        for user in users:
            by_user.setdefault(user, []).append(idx)
    compared: set[tuple[int, int]] = set()
    for members in by_user.values():
        for pos, i in enumerate(members):
            for j in members[pos + 1 :]:
                if (i, j) in compared:
                    continue
                compared.add((i, j))
                gi, gj = groups[i], groups[j]
                if gi[1] > gj[2] + gap or gj[1] > gi[2] + gap:
                    continue
                inter = len(gi[3] & gj[3])
                if inter / len(gi[3] | gj[3]) >= threshold:
                    uf.union(gi[0], gj[0])
    table = pa.table(
        {
            "group_id": pa.array([g[0] for g in groups], pa.string()),
            "campaign_id": pa.array([uf.find(g[0]) for g in groups], pa.string()),
        }
    )
    store.con.register("_campaign_of", table)
    store.con.execute("INSERT INTO dist_campaign_of SELECT * FROM _campaign_of")
    store.con.unregister("_campaign_of")
