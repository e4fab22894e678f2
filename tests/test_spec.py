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
    assert c.state_names == ("DONE", "FAILED", "THINK", "TOOL")
    assert c.outcome_names == ("tool",)
    t = c.tables
    assert t.ok_next[2] == 0 and t.ok_next[3] == 2
    assert t.err_next[2] == 1 and t.err_next[3] == 2
    assert t.out_next[2 * 1 + 0] == 3
    assert t.max_retries[2] == 2 and t.backoff[2] == 0.5 and t.timeout[2] == 3.0
    assert t.timeout[3] is None
    assert c.actions == (noop,)
    with pytest.raises(AttributeError, match="frozen"):
        t.max_steps = 5  # compiled tables are frozen: a running core cannot drift from its spec


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
    assert c.entries == ("SITE", "PAGE")


def test_empty_spec_rejected():
    with pytest.raises(SpecError, match="at least one state"):
        AgentSpec([])


# ---- declared columns ------------------------------------------------------------------------

def act(reads=(), writes=()):
    return batch_action(lambda batch: None, inline=True, reads=reads, writes=writes)


def test_a_column_read_but_never_written_is_a_compile_error_naming_it():
    spec = AgentSpec([State("FETCH", act(reads=["url"], writes=["html"]), on_ok="PARSE"),
                      State("PARSE", act(reads=["htlm"]), on_ok="DONE")], inputs=["url"])
    with pytest.raises(SpecError) as err:
        spec.compile()
    msg = str(err.value)
    assert "'PARSE' reads column 'htlm'" in msg and "['html', 'url']" in msg


def test_a_column_written_only_after_its_reader_is_rejected():
    spec = AgentSpec([State("A", act(reads=["text"]), on_ok="B"),
                      State("B", act(writes=["text"]), on_ok="DONE")])
    with pytest.raises(SpecError, match="'A' reads column 'text'"):
        spec.compile()


def test_columns_written_earlier_in_a_loop_or_on_a_branch_are_accepted():
    spec = AgentSpec([
        State("THINK", act(reads=["messages"], writes=["call"]), on_ok="DONE",
              outcomes={"tool": "TOOL"}),
        State("TOOL", act(reads=["call"], writes=["messages"]), on_ok="THINK"),
    ], inputs=["messages"])
    c = spec.compile()
    assert set(c.columns) == {"messages", "call"}
    assert c.reads[c.state_index("TOOL")] == ("call",)
    assert c.writes[c.state_index("THINK")] == ("call",)


def test_state_level_declarations_add_to_the_action_ones():
    shared = act(reads=["url"])
    spec = AgentSpec([State("A", shared, on_ok="B", writes=["a"]),
                      State("B", shared, on_ok="DONE", reads=["a"])], inputs=["url"])
    c = spec.compile()
    assert c.reads[c.state_index("B")] == ("url", "a")
    assert c.writes[c.state_index("A")] == ("a",)
