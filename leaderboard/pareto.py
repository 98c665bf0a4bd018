"""Pareto fronts of quality against cost, for any mix of higher- and lower-is-better axes."""

from __future__ import annotations

from collections.abc import Sequence


def dominates(a: tuple[float, float], b: tuple[float, float], higher: tuple[bool, bool]) -> bool:
    """``a`` is at least as good as ``b`` on both axes and strictly better on one."""
    better_or_equal = all((x >= y) if h else (x <= y) for x, y, h in zip(a, b, higher, strict=True))
    strictly = any((x > y) if h else (x < y) for x, y, h in zip(a, b, higher, strict=True))
    return better_or_equal and strictly


def pareto_front(points: Sequence[tuple[float, float]], higher: tuple[bool, bool]) -> list[int]:
    """Indices of the points no other point dominates, in input order.

    Duplicated points are all on the front (neither dominates the other), so two entries with
    identical figures are both highlighted. Points with a missing (None/NaN) coordinate are never
    on the front. O(n log n): sort by the first axis (best first), sweep the second.
    """
    valid = [i for i, (x, y) in enumerate(points) if x is not None and y is not None and x == x and y == y]
    if not valid:
        return []
    sign_x = -1.0 if higher[0] else 1.0
    sign_y = -1.0 if higher[1] else 1.0
    # Minimisation form: smaller is better on both transformed axes.
    keyed = sorted(valid, key=lambda i: (sign_x * points[i][0], sign_y * points[i][1]))
    front: list[int] = []
    best_y = float("inf")
    k = 0
    while k < len(keyed):
        # Points sharing the same x form a group: only the group's best y can be on the front,
        # and its exact duplicates with it.
        x = points[keyed[k]][0]
        group = []
        while k < len(keyed) and points[keyed[k]][0] == x:
            group.append(keyed[k])
            k += 1
        group_best = min(sign_y * points[i][1] for i in group)
        if group_best < best_y:
            front.extend(i for i in group if sign_y * points[i][1] == group_best)
            best_y = group_best
    return sorted(front)
