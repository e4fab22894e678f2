"""AgentSpec validation and compilation into transition tables."""
import pytest

from agentcore import AgentSpec, SpecError, State, batch_action

noop = batch_action(lambda batch: None, inline=True)


def test_compiles_to_integer_tables():
    spec = AgentSpec([
        State("THINK", noop, on_ok="DONE", outcomes={"tool": "TOOL"}, retries=2, backoff=0.5,
              timeout=3.0),
        State("TOOL", noop, on_ok="THINK", on_error="THINK"),
    ])
    c = spec.compile()
    assert c.state_names == ["DONE", "FAILED", "THINK", "TOOL"]
    assert c.outcome_names == ["tool"]
    t = c.tables
    assert t["ok_next"][2] == 0 and t["ok_next"][3] == 2
    assert t["err_next"][2] == 1 and t["err_next"][3] == 2
    assert t["out_next"][2 * 1 + 0] == 3
    assert t["max_retries"][2] == 2 and t["backoff"][2] == 0.5 and t["timeout"][2] == 3.0
    assert t["timeout"][3] is None
    assert c.actions == [noop]


@pytest.mark.parametrize("states, kwargs, message", [
    ([State("A", noop, on_ok="NOWHERE")], {}, "unknown state 'NOWHERE'"),
    ([State("A", "fetch", on_ok="DONE")], {}, "unknown action 'fetch'"),
    ([State("A", lambda b: None, on_ok="DONE")], {}, "must be made with batch_action"),
    ([State("A", noop, on_ok="DONE"), State("B", noop, on_ok="DONE")], {}, "unreachable states ['B']"),
    ([State("A", noop)], {}, "no way out on success"),
    ([State("A", noop, on_ok="B", on_error="B"), State("B", noop, on_ok="A", on_error="A")], {},
     "'A' has no way out"),
    ([State("DONE", noop, on_ok="DONE")], {}, "built in and terminal"),
    ([State("A", noop, on_ok="DONE"), State("A", noop, on_ok="DONE")], {}, "declared twice"),
    ([State("A", noop, on_ok="DONE", retries=-1)], {}, "retries and backoff must be >= 0"),
    ([State("A", noop, on_ok="DONE", timeout=0)], {}, "timeout > 0"),
    ([State("A", noop, on_ok="DONE")], {"entries": ["Z"]}, "entry state 'Z'"),
    ([State("A", noop, on_ok="DONE")], {"max_steps": 0}, "max_steps must be >= 1"),
    ([State("A", noop, on_ok="DONE")], {"max_steps": 70000}, "max_steps must be within"),
])
def test_invalid_specs_are_rejected_with_a_clear_message(states, kwargs, message):
    with pytest.raises(SpecError) as err:
        AgentSpec(states, **kwargs).compile()
    assert message in str(err.value)


def test_named_actions_resolve_and_second_entry_makes_states_reachable():
    spec = AgentSpec(
        [State("SITE", "site", on_ok="DONE"), State("PAGE", "page", on_ok="DONE")],
        entries=["SITE", "PAGE"], actions={"site": noop, "page": batch_action(lambda b: None)},
    )
    c = spec.compile()
    assert len(c.actions) == 2 and c.actions[0] is noop
    assert c.entries == ["SITE", "PAGE"]


def test_empty_spec_rejected():
    with pytest.raises(SpecError, match="at least one state"):
        AgentSpec([])
