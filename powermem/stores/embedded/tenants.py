"""The store's memory tenants, found by the ids that scope them.

A vector search reads the matrices of the tenants inside its scope. Testing every tenant of
the store for each search costs as much as the store has tenants (about a third of a search
at 10,000 tenants, profiled); indexing them by user, agent and run id makes it the size of
the answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from powermem.stores.base import Scope


class TenantScopes:
    def __init__(self, tenants: Iterable[tuple[str, Scope]] = ()) -> None:
        self._scopes: dict[str, Scope] = {}
        self._by_id: tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]] = ({}, {}, {})
        for tenant, scope in tenants:
            self.add(tenant, scope)

    def add(self, tenant: str, scope: Scope) -> None:
        if tenant in self._scopes:
            return
        self._scopes[tenant] = scope
        for index, value in zip(self._by_id, _ids(scope), strict=True):
            if value is not None:
                index.setdefault(value, set()).add(tenant)

    def within(self, scope: Scope) -> list[str]:
        """The tenants whose memories ``scope`` reaches (an empty scope: all of them)."""
        named = [index.get(value, set()) for index, value in zip(self._by_id, _ids(scope), strict=True)
                 if value is not None]
        if not named:
            return list(self._scopes)
        return [t for t in min(named, key=len) if _within(self._scopes[t], scope)]


def _ids(scope: Scope) -> tuple[str | None, str | None, str | None]:
    return scope.user_id, scope.agent_id, scope.run_id


def _within(tenant: Scope, scope: Scope) -> bool:
    return all(wanted is None or wanted == have for wanted, have in zip(_ids(scope), _ids(tenant), strict=True))
