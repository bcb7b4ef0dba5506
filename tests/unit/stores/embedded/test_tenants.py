"""The tenant index answers as testing every tenant would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from powermem.stores.base import Scope
from powermem.stores.embedded.tenants import TenantScopes

ids = st.none() | st.sampled_from(["a", "b", "c"])
scopes = st.builds(Scope, user_id=ids, agent_id=ids, run_id=ids)


def reaches(tenant: Scope, scope: Scope) -> bool:
    pairs = ((scope.user_id, tenant.user_id), (scope.agent_id, tenant.agent_id), (scope.run_id, tenant.run_id))
    return all(wanted is None or wanted == have for wanted, have in pairs)


@given(st.lists(scopes, max_size=30), st.lists(scopes, min_size=1, max_size=10))
def test_within_is_every_tenant_the_scope_reaches(tenants: list[Scope], asked: list[Scope]) -> None:
    index = TenantScopes()
    named = {}
    for number, scope in enumerate(tenants):
        index.add(f"t{number}", scope)
        index.add(f"t{number}", Scope(user_id="ignored"))  # a known tenant keeps its first scope
        named[f"t{number}"] = scope
    for scope in asked:
        expected = {t for t, s in named.items() if reaches(s, scope)}
        assert sorted(index.within(scope)) == sorted(expected)
    assert sorted(index.within(Scope())) == sorted(named)
