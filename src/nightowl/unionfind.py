"""Disjoint sets (union-find): the connected components that incidents and distributed campaigns are."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class UnionFind(Generic[T]):
    """Union-find over ``items`` whose representative is always the smallest member, so a
    component's id does not depend on the order the joins were made in."""

    def __init__(self, items: Iterable[T]) -> None:
        self.parent: dict[T, T] = {i: i for i in items}

    def find(self, item: T) -> T:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: T, b: T) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # type: ignore[type-var]
