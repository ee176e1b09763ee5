"""Graph step of spray.distributed: join fingerprint groups that target the same accounts.

Nodes are time-local fingerprint groups (``dist_groups``); an edge joins two groups whose time
spans touch (within the campaign gap) and that share their targets or their sources: Jaccard
similarity of the targeted accounts, or of the source addresses, at least ``merge_jaccard``. A
campaign rotating user agents or applications reuses its target list or its proxies.

Connected components become campaigns, written to ``dist_campaign_of`` (group -> the smallest
group id of its component). Everything stays in SQL, so it runs unchanged on DuckDB and on Spark
and never collects groups to one process: the edges come from a self-join on shared members, the
components from iterative minimum-label propagation with pointer jumping (a node takes the
smallest label among itself and its neighbours, then its label's label), repeated until no label
changes; only that count comes back to Python.
"""

from __future__ import annotations

from typing import Any

from nightowl.engines import Engine

MAX_GROUPS_COMPARED = 20_000  # beyond this, only groups with 2+ users or sources are compared
MAX_ROUNDS = 200  # label propagation converges in O(log diameter) rounds with pointer jumping

GRAPH_SQL = [
    # Nodes: every group, or only those with 2+ users or sources when there are too many.
    f"""CREATE OR REPLACE TEMP TABLE dist_nodes AS
SELECT g.group_id, g.first_seen, g.last_seen
FROM dist_groups g CROSS JOIN (SELECT count(*) AS n FROM dist_groups) t
WHERE t.n <= {MAX_GROUPS_COMPARED} OR len(g.users) > 1 OR len(g.sources_list) > 1""",
    # (group, kind, member): a group's targeted accounts (u) and its source keys (s).
    """CREATE OR REPLACE TEMP TABLE dist_membership AS
SELECT DISTINCT m.group_id, 'u' AS kind, m.user_name AS member
FROM dist_members m JOIN dist_nodes n ON n.group_id = m.group_id
UNION ALL
SELECT DISTINCT m.group_id, 's' AS kind, m.src_key AS member
FROM dist_members m JOIN dist_nodes n ON n.group_id = m.group_id""",
    # Edges: groups whose spans touch and whose targets or sources overlap enough (Jaccard).
    """CREATE OR REPLACE TEMP TABLE dist_edges AS
WITH sizes AS (
    SELECT group_id, kind, count(*) AS n FROM dist_membership GROUP BY group_id, kind
), shared AS (
    SELECT a.group_id AS g1, b.group_id AS g2, a.kind, count(*) AS n
    FROM dist_membership a
    JOIN dist_membership b ON b.kind = a.kind AND b.member = a.member AND a.group_id < b.group_id
    GROUP BY a.group_id, b.group_id, a.kind
)
SELECT DISTINCT s.g1, s.g2
FROM shared s
JOIN sizes z1 ON z1.group_id = s.g1 AND z1.kind = s.kind
JOIN sizes z2 ON z2.group_id = s.g2 AND z2.kind = s.kind
JOIN dist_nodes n1 ON n1.group_id = s.g1
JOIN dist_nodes n2 ON n2.group_id = s.g2
WHERE s.n / (z1.n + z2.n - s.n) >= $merge_jaccard
  AND n1.first_seen <= n2.last_seen + to_hours($campaign_gap_hours)
  AND n2.first_seen <= n1.last_seen + to_hours($campaign_gap_hours)""",
    """CREATE OR REPLACE TEMP TABLE dist_neighbours AS
SELECT g1 AS group_id, g2 AS other FROM dist_edges
UNION ALL
SELECT g2 AS group_id, g1 AS other FROM dist_edges""",
    "CREATE OR REPLACE TEMP TABLE dist_labels AS SELECT group_id, group_id AS label FROM dist_nodes",
]

# One round: the smallest label among a node and its neighbours, then that label's own label.
ROUND_SQL = [
    """CREATE OR REPLACE TEMP TABLE dist_labels_step AS
SELECT l.group_id, least(l.label, coalesce(min(o.label), l.label)) AS label
FROM dist_labels l
LEFT JOIN dist_neighbours e ON e.group_id = l.group_id
LEFT JOIN dist_labels o ON o.group_id = e.other
GROUP BY l.group_id, l.label""",
    """CREATE OR REPLACE TEMP TABLE dist_labels_next AS
SELECT s.group_id, least(s.label, coalesce(j.label, s.label)) AS label
FROM dist_labels_step s LEFT JOIN dist_labels_step j ON j.group_id = s.label""",
]
CHANGED_SQL = """SELECT count(*) FROM dist_labels_next n JOIN dist_labels l ON l.group_id = n.group_id
WHERE n.label <> l.label"""
ADOPT_SQL = "CREATE OR REPLACE TEMP TABLE dist_labels AS SELECT group_id, label FROM dist_labels_next"
RESULT_SQL = (
    "CREATE OR REPLACE TEMP TABLE dist_campaign_of AS SELECT group_id, label AS campaign_id FROM dist_labels"
)


def merge_groups(engine: Engine, params: dict[str, Any]) -> None:
    """Fill ``dist_campaign_of``: connected components of the group graph, computed in SQL."""
    for statement in GRAPH_SQL:
        engine.execute(statement, params)
    for _ in range(MAX_ROUNDS):
        for statement in ROUND_SQL:
            engine.execute(statement)
        changed = engine.fetch(CHANGED_SQL)[1][0][0]
        engine.execute(ADOPT_SQL)
        if not changed:
            break
    engine.execute(RESULT_SQL)
