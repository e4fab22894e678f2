"""Pure-Python twin of ``agentcore.kernels._step``: the agent state machine, one column per field.

Columns (one entry per agent, ids are row numbers):
  state    current state index; 0 = DONE and 1 = FAILED are terminal, 2.. are the spec's states
  status   READY (waits to be handed to its action), RUNNING (its action has it), BACKOFF
           (failed, waits for ``timer`` before retrying), WAITING (its action finished but
           children are still live; moves to ``nxt`` when the last one ends), TERMINAL
  retries  failed attempts in the current state
  steps    transitions taken; reaching the spec's ``max_steps`` fails the agent
  attempt  dispatch counter; a completion must quote it, so a late one after a timeout is stale
  timer    deadline while RUNNING, retry time while in BACKOFF
  parent   the agent that spawned this one, or -1; ``pending`` counts a parent's live children
  reason   why the agent FAILED (an id the runtime maps to text); also the last retry's reason
"""
from array import array

from agentcore.kernels.stepcodes import (BACKOFF, DONE, ERROR, FAILED, OK, R_NONE, R_OUTCOME,  # noqa: F401
                                         R_STEPS, R_TIMEOUT, READY, RUNNING, TERMINAL, WAITING)

INF = float("inf")


class Core:
    """Agent columns plus the compiled spec's transition tables (see module docstring)."""

    def __init__(self, tables, capacity=1024):
        self.n_states = len(tables.action_of)
        self.n_outcomes = tables.n_outcomes
        self.max_steps = tables.max_steps
        self.action_of = list(tables.action_of)
        self.ok_next = list(tables.ok_next)
        self.err_next = list(tables.err_next)
        self.out_next = list(tables.out_next)
        if self.n_states > 32767:
            raise ValueError("at most 32767 states")
        if not 1 <= self.max_steps <= 65535:
            raise ValueError("max_steps must be within 1..65535")
        self.max_retries = [min(255, r) for r in tables.max_retries]
        self.backoff = list(tables.backoff)
        self.timeout = [INF if t is None else t for t in tables.timeout]
        self.any_timeout = any(t is not None for t in tables.timeout)
        self.state = array("i")
        self.status = array("B")
        self.retries = array("i")
        self.steps = array("i")
        self.attempt = array("H")
        self.timer = array("d")
        self.parent = array("i")
        self.pending = array("i")
        self.nxt = array("i")
        self.reason = array("i")
        self.n_terminal = 0
        self.n_stale = 0
        self.n_expired = 0

    # ---- population

    def spawn(self, count, state, parent=-1):
        """Append ``count`` agents in ``state`` (READY); return the first new id."""
        first = len(self.state)
        if count < 0:
            raise ValueError("count must be >= 0")
        if state < 2 or state >= self.n_states:
            raise ValueError(f"state {state} is not a live state")
        if parent >= first or parent < -1:
            raise IndexError(f"parent {parent} does not exist")
        if first + count > 2147483647:
            raise OverflowError("a swarm holds at most 2**31-1 agents; shard it")
        self.state.extend(array("i", [state]) * count)
        self.status.extend(array("B", [READY]) * count)
        zeros = array("i", bytes(4 * count))
        self.retries.extend(zeros)
        self.steps.extend(zeros)
        self.attempt.extend(array("H", bytes(2 * count)))
        self.timer.extend(array("d", bytes(8 * count)))
        self.parent.extend(array("i", [parent]) * count)
        self.pending.extend(zeros)
        self.nxt.extend(array("i", [-1]) * count)
        self.reason.extend(zeros)
        if parent >= 0:
            self.pending[parent] += count
        return first

    # ---- events

    def apply(self, ids, attempts, now, codes=None, reasons=None):
        """Apply completions: ``codes[i]`` is 0 (ok), -1 (error, ``reasons[i]``) or k>0 (outcome k).

        ``codes=None`` means all ok. Completions whose attempt no longer matches (the agent timed
        out and moved on) are stale and ignored. Returns the number applied.
        """
        m = len(ids)
        if len(attempts) != m or (codes is not None and len(codes) != m) or (
            reasons is not None and len(reasons) != m
        ):
            raise ValueError("ids, attempts, codes and reasons must have the same length")
        n = len(self.state)
        status, attempt = self.status, self.attempt
        applied = 0
        for i in range(m):
            a = ids[i]
            if a < 0 or a >= n or status[a] != RUNNING or attempt[a] != attempts[i]:
                self.n_stale += 1
                continue
            self._complete(a, OK if codes is None else codes[i],
                           R_NONE if reasons is None else reasons[i], now)
            applied += 1
        return applied

    def _complete(self, a, code, rs, now):
        s = self.state[a]
        if code == ERROR:
            if self.retries[a] < self.max_retries[s]:
                self.retries[a] += 1
                self.status[a] = BACKOFF
                self.timer[a] = now + self.backoff[s] * (1 << min(self.retries[a] - 1, 20))
                self.reason[a] = rs
                return
            self._go(a, self.err_next[s], rs)
            return
        if code == OK:
            nx = self.ok_next[s]
        elif code <= self.n_outcomes:
            nx = self.out_next[s * self.n_outcomes + code - 1]
        else:
            nx = -1
        if nx < 0:
            self._go(a, FAILED, R_OUTCOME)
            return
        if self.pending[a] > 0:
            self.status[a] = WAITING
            self.nxt[a] = nx
            return
        self._go(a, nx, R_NONE)

    def _go(self, a, s, rs):
        # Walks up the parent chain: a terminal child may release a waiting parent, whose own
        # terminal move may release the grandparent.
        while True:
            self.steps[a] += 1
            if s >= 2 and self.steps[a] >= self.max_steps:
                s, rs = FAILED, R_STEPS
            self.state[a] = s
            self.retries[a] = 0
            if s >= 2:
                # an on_error state sees why the agent came there (reason_of); success clears it
                self.status[a] = READY
                self.reason[a] = rs
                return
            self.status[a] = TERMINAL
            if s == DONE:
                self.reason[a] = R_NONE
            elif rs != R_NONE:  # FAILED reached on success (after an on_error state) keeps it
                self.reason[a] = rs
            self.n_terminal += 1
            p = self.parent[a]
            if p < 0:
                return
            self.pending[p] -= 1
            if self.pending[p] != 0 or self.status[p] != WAITING:
                return
            a, s, rs = p, self.nxt[p], R_NONE

    # ---- dispatch

    def tick(self, now, caps, offsets, counts):
        """Expire timeouts, end backoffs, count agents per state and hand out ready agents.

        ``caps[k]`` bounds how many agents action k may receive now. Returns ``(ids, attempts,
        earliest)``: new arrays where the agents handed out in state s are
        ``ids[offsets[s]:offsets[s+1]]`` (now RUNNING; one batch never mixes states, even where
        states share an action), and the earliest pending deadline or retry time (inf if none).
        ``counts`` receives agents per state, ``counts[n_states]`` those waiting on children
        or a retry.
        """
        n_act = len(caps)
        n = len(self.state)
        if len(offsets) != self.n_states + 1 or len(counts) != self.n_states + 1:
            raise ValueError("offsets and counts need n_states+1 entries")
        for k in range(len(counts)):
            counts[k] = 0
        want = [0] * (n_act + 1)
        earliest = INF
        state, status, timer, action_of = self.state, self.status, self.timer, self.action_of
        attempt, timeout, any_timeout = self.attempt, self.timeout, self.any_timeout
        ns = self.n_states
        sid, sat = [], []
        for a in range(n):
            st = status[a]
            if st == RUNNING:
                if any_timeout:
                    t = timer[a]
                    if t <= now:
                        self.n_expired += 1
                        self._complete(a, ERROR, R_TIMEOUT, now)
                        st = status[a]
                    elif t < earliest:
                        earliest = t
            elif st == BACKOFF:
                t = timer[a]
                if t <= now:
                    status[a] = st = READY
                elif t < earliest:
                    earliest = t
            if st == WAITING or st == BACKOFF:
                counts[ns] += 1
                continue
            s = state[a]
            counts[s] += 1
            if st != READY:
                continue
            act = action_of[s]
            if want[act] >= caps[act]:
                continue
            want[act] += 1
            status[a] = RUNNING
            attempt[a] = (attempt[a] + 1) & 0xFFFF
            if any_timeout:
                t = timer[a] = now + timeout[s]
                if t < earliest:
                    earliest = t
            sid.append(a)
            sat.append(attempt[a])
        # a stable counting sort groups the handed-out agents by state
        per_state = [0] * ns
        for a in sid:
            per_state[state[a]] += 1
        fill = [0] * ns
        offsets[0] = 0
        for k in range(ns):
            offsets[k + 1] = offsets[k] + per_state[k]
            fill[k] = offsets[k]
        out = array("i", bytes(4 * len(sid)))
        out_att = array("H", bytes(2 * len(sid)))
        for a, at in zip(sid, sat):
            s = state[a]
            out[fill[s]] = a
            out_att[fill[s]] = at
            fill[s] += 1
        return out, out_att, earliest

    # ---- inspection

    @property
    def size(self):
        return len(self.state)

    @property
    def n_done(self):
        """Agents in a terminal state (DONE or FAILED)."""
        return self.n_terminal

    @property
    def stale(self):
        """Completions ignored because their agent had timed out and moved on."""
        return self.n_stale

    @property
    def expired(self):
        """Timeouts expired so far (a tick that expires some may leave new agents ready)."""
        return self.n_expired

    def get(self, a):
        """(state, status, steps, retries, reason, parent, pending) of agent ``a``."""
        if a < 0 or a >= len(self.state):
            raise IndexError(f"agent {a} does not exist (swarm has {len(self.state)})")
        return (self.state[a], self.status[a], self.steps[a], self.retries[a], self.reason[a],
                self.parent[a], self.pending[a])

    def column(self, name):
        """A zero-copy memoryview of one column (valid until the next spawn grows the swarm)."""
        cols = {"state": self.state, "status": self.status, "steps": self.steps,
                "retries": self.retries, "reason": self.reason,
                "pending": self.pending, "attempt": self.attempt, "timer": self.timer}
        # parent is left out on purpose: the compiled core stores it shifted by one
        if name not in cols:
            raise KeyError(f"no column {name!r}")
        return memoryview(cols[name])

