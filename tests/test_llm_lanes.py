"""Engine lanes without a model: routing (least loaded, sessions sticky), slot shares, the lane count setting."""
from __future__ import annotations

import pytest

from agentcore.llm import lanes as L
from agentcore.llm.metrics import EngineMetrics, combine


class FakeLane:
    def __init__(self, index, load=0):
        self.index = index
        self.queued = load

    def load(self):
        return self.queued


def test_requests_go_to_the_least_loaded_lane_lowest_index_on_ties():
    a, b = FakeLane(0, 3), FakeLane(1, 1)
    r = L.Router([a, b])
    assert r.lane_for(None) is b
    b.queued = 3
    assert r.lane_for(None) is a  # a tie goes to the lower index


def test_a_session_stays_in_the_lane_holding_its_kv_until_it_ends():
    a, b = FakeLane(0, 0), FakeLane(1, 5)
    r = L.Router([a, b])
    assert r.lane_for("agent-1") is a
    a.queued = 10
    assert r.lane_for("agent-1") is a  # sticky, however loaded
    assert r.lane_for("agent-2") is b
    assert r.end_session("agent-1") is a
    assert r.end_session("agent-1") is None  # already forgotten
    assert r.lane_for("agent-1") is b  # a new conversation goes where there is room


def test_slots_are_shared_out_and_the_lane_count_setting(monkeypatch):
    assert L.split(64, 2) == [32, 32] and L.split(5, 2) == [3, 2] and L.split(3, 1) == [3]
    monkeypatch.delenv(L.ENV_LANES, raising=False)
    assert L.default_lanes(2) == 2 and L.default_lanes(1) == 1 and L.default_lanes(16) == 2
    monkeypatch.setenv(L.ENV_LANES, "1")
    assert L.default_lanes(8) == 1
    for bad in ("two", "0"):
        monkeypatch.setenv(L.ENV_LANES, bad)
        with pytest.raises(ValueError, match=L.ENV_LANES):
            L.default_lanes(2)


def test_lane_metrics_add_up_and_rates_use_the_busiest_lane():
    a, b, sub = EngineMetrics(), EngineMetrics(), EngineMetrics()
    a.counts.update(generated_tokens=100, decode_calls=10, prompt_tokens=50)
    b.counts.update(generated_tokens=60, decode_calls=6, prompt_tokens=30)
    a.busy_seconds, b.busy_seconds = 2.0, 1.5
    a.decode_cpu_seconds, b.decode_cpu_seconds = 1.9, 1.4
    a.occupancy_sum, b.occupancy_sum = 5.0, 3.0
    sub.count_submit("requests_submitted")
    m = combine([a, b], sub).snapshot(slots_total=8, slots_active=0, queue_length=0, threads=2)
    assert m["generated_tokens"] == 160 and m["decode_calls"] == 16 and m["requests_submitted"] == 1
    assert m["busy_seconds"] == 2.0 and m["generated_tokens_per_s"] == 80.0
    assert m["decode_cpu_seconds"] == pytest.approx(3.3) and m["slot_occupancy"] == 0.5
