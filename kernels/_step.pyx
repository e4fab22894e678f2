"""Compiled agent state machine: agent columns in C arrays, stepped without the GIL.

The API and semantics are identical to ``agentcore.kernels.step_py.Core`` (the pure-Python twin), whose
docstring describes every column and code. Columns are calloc'd: zero is every column's default
(parent is stored +1 for that reason), so a column an agent never needs costs no touched memory.
"""
from cpython.array cimport array, clone
from cpython.mem cimport PyMem_Calloc, PyMem_Free
from cpython.ref cimport Py_REFCNT
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t
from libc.string cimport memcpy, memset

cdef extern from "math.h" nogil:
    double INFINITY

cdef enum:
    READY = 0
    RUNNING = 1
    BACKOFF = 2
    WAITING = 3
    TERMINAL = 4
    DONE = 0
    FAILED = 1
    OK = 0
    ERROR = -1
    # mirrors of kernels/stepcodes.py (checked at import below): C needs them as constants
    R_NONE = 0
    R_TIMEOUT = 1
    R_STEPS = 2
    R_OUTCOME = 3

from agentcore.kernels import stepcodes as _codes

if ((READY, RUNNING, BACKOFF, WAITING, TERMINAL, DONE, FAILED, OK, ERROR,
     R_NONE, R_TIMEOUT, R_STEPS, R_OUTCOME) !=
        (_codes.READY, _codes.RUNNING, _codes.BACKOFF, _codes.WAITING, _codes.TERMINAL,
         _codes.DONE, _codes.FAILED, _codes.OK, _codes.ERROR,
         _codes.R_NONE, _codes.R_TIMEOUT, _codes.R_STEPS, _codes.R_OUTCOME)):
    raise ImportError("kernels/_step.pyx's enum differs from kernels/stepcodes.py; make them equal")

cdef array _I32 = array("i")
cdef array _U16 = array("H")


cdef class Core:
    # transition tables, one entry per state (n_outcomes entries per state in out_next)
    cdef int32_t n_states, n_outcomes, max_steps
    cdef int32_t *action_of
    cdef int32_t *ok_next
    cdef int32_t *err_next
    cdef int32_t *out_next
    cdef int32_t *max_retries
    cdef double *backoff
    cdef double *timeout
    cdef bint any_timeout

    # agent columns
    cdef Py_ssize_t n, cap
    cdef int32_t *state
    cdef uint8_t *status
    cdef uint8_t *retries
    cdef uint16_t *steps
    cdef uint16_t *attempt
    cdef double *timer
    cdef int32_t *parent1
    cdef int32_t *pending
    cdef int16_t *nxt
    cdef int32_t *reason

    cdef Py_ssize_t n_terminal, n_stale, n_expired
    # any agent has a parent / has ever failed an attempt: lets the hot paths skip those columns
    cdef bint any_children, any_errors
    # dispatch buffers, reused while no batch still holds a view of them
    cdef array buf_ids, buf_att, scr_ids, scr_att

    def __init__(self, tables, Py_ssize_t capacity=1024):
        cdef int32_t s, k
        self.n_states = len(tables.action_of)
        self.n_outcomes = tables.n_outcomes
        self.max_steps = tables.max_steps
        if self.n_states > 32767:
            raise ValueError("at most 32767 states")
        if not 1 <= self.max_steps <= 65535:
            raise ValueError("max_steps must be within 1..65535")
        ns = self.n_states
        self.action_of = <int32_t *> _calloc(ns, 4)
        self.ok_next = <int32_t *> _calloc(ns, 4)
        self.err_next = <int32_t *> _calloc(ns, 4)
        self.out_next = <int32_t *> _calloc(ns * self.n_outcomes + 1, 4)
        self.max_retries = <int32_t *> _calloc(ns, 4)
        self.backoff = <double *> _calloc(ns, 8)
        self.timeout = <double *> _calloc(ns, 8)
        self.any_timeout = False
        for s in range(ns):
            self.action_of[s] = tables.action_of[s]
            self.ok_next[s] = tables.ok_next[s]
            self.err_next[s] = tables.err_next[s]
            self.max_retries[s] = min(255, tables.max_retries[s])
            self.backoff[s] = tables.backoff[s]
            t = tables.timeout[s]
            self.timeout[s] = INFINITY if t is None else t
            if t is not None:
                self.any_timeout = True
            for k in range(self.n_outcomes):
                self.out_next[s * self.n_outcomes + k] = tables.out_next[s * self.n_outcomes + k]
        self._grow(max(capacity, 16))

    def __dealloc__(self):
        PyMem_Free(self.action_of); PyMem_Free(self.ok_next); PyMem_Free(self.err_next)
        PyMem_Free(self.out_next); PyMem_Free(self.max_retries); PyMem_Free(self.backoff)
        PyMem_Free(self.timeout)
        PyMem_Free(self.state); PyMem_Free(self.status); PyMem_Free(self.retries)
        PyMem_Free(self.steps); PyMem_Free(self.attempt); PyMem_Free(self.timer)
        PyMem_Free(self.parent1); PyMem_Free(self.pending); PyMem_Free(self.nxt)
        PyMem_Free(self.reason)

    cdef _grow(self, Py_ssize_t cap):
        self.state = <int32_t *> _move(self.state, self.n, cap, 4)
        self.status = <uint8_t *> _move(self.status, self.n, cap, 1)
        self.retries = <uint8_t *> _move(self.retries, self.n, cap, 1)
        self.steps = <uint16_t *> _move(self.steps, self.n, cap, 2)
        self.attempt = <uint16_t *> _move(self.attempt, self.n, cap, 2)
        self.timer = <double *> _move(self.timer, self.n, cap, 8)
        self.parent1 = <int32_t *> _move(self.parent1, self.n, cap, 4)
        self.pending = <int32_t *> _move(self.pending, self.n, cap, 4)
        self.nxt = <int16_t *> _move(self.nxt, self.n, cap, 2)
        self.reason = <int32_t *> _move(self.reason, self.n, cap, 4)
        self.cap = cap

    # ---- population -------------------------------------------------------------------------

    def spawn(self, Py_ssize_t count, int32_t state, int32_t parent=-1):
        """Append ``count`` agents in ``state`` (READY); return the first new id."""
        cdef Py_ssize_t first = self.n, i, new_cap
        if count < 0:
            raise ValueError("count must be >= 0")
        if state < 2 or state >= self.n_states:
            raise ValueError(f"state {state} is not a live state")
        if parent >= self.n or parent < -1:
            raise IndexError(f"parent {parent} does not exist")
        if first + count > 2147483647:
            raise OverflowError("a swarm holds at most 2**31-1 agents; shard it")
        if first + count > self.cap:
            new_cap = self.cap
            while new_cap < first + count:
                new_cap = new_cap * 2
            self._grow(new_cap)
        cdef int32_t *st = self.state
        cdef int32_t *p1 = self.parent1
        with nogil:
            # every other column's default is zero, already there from calloc
            for i in range(first, first + count):
                st[i] = state
            if parent >= 0:
                self.any_children = True
                for i in range(first, first + count):
                    p1[i] = parent + 1
                self.pending[parent] += <int32_t> count
            self.n = first + count
        return first

    # ---- events -------------------------------------------------------------------------------

    def apply(self, const int32_t[::1] ids, const uint16_t[::1] attempts, double now,
              const int32_t[::1] codes=None, const int32_t[::1] reasons=None):
        """Apply completions: ``codes[i]`` is 0 (ok), -1 (error, ``reasons[i]``) or k>0 (outcome k).

        ``codes=None`` means all ok. Completions whose attempt no longer matches (the agent timed
        out and moved on) are stale and ignored. Returns the number applied.
        """
        cdef Py_ssize_t m = ids.shape[0], i, applied = 0, n = self.n
        cdef int32_t a, code, rs, s, nx
        if attempts.shape[0] != m or (codes is not None and codes.shape[0] != m) \
                or (reasons is not None and reasons.shape[0] != m):
            raise ValueError("ids, attempts, codes and reasons must have the same length")
        cdef bint has_codes = codes is not None, has_reasons = reasons is not None
        cdef uint8_t *status = self.status
        cdef uint16_t *attempt = self.attempt
        cdef int32_t *state = self.state
        cdef uint16_t *steps = self.steps
        cdef int32_t *pending = self.pending
        cdef uint8_t *retries = self.retries
        cdef int32_t *reason = self.reason
        cdef int32_t *ok_next = self.ok_next
        cdef int32_t max_steps = self.max_steps
        cdef bint kids = self.any_children, errs = self.any_errors
        with nogil:
            for i in range(m):
                a = ids[i]
                if a < 0 or a >= n or status[a] != RUNNING or attempt[a] != attempts[i]:
                    self.n_stale += 1
                    continue
                code = codes[i] if has_codes else OK
                applied += 1
                if code == OK:
                    # the common case inline: success into a live state, no children to wait on
                    s = state[a]
                    nx = ok_next[s]
                    if nx >= 2 and (not kids or pending[a] == 0) and steps[a] + 1 < max_steps:
                        steps[a] += 1
                        state[a] = nx
                        status[a] = READY
                        if errs:
                            retries[a] = 0
                            reason[a] = R_NONE
                        continue
                rs = reasons[i] if has_reasons else R_NONE
                self._complete(a, code, rs, now)
        return applied

    cdef void _complete(self, int32_t a, int32_t code, int32_t rs, double now) noexcept nogil:
        cdef int32_t s = self.state[a], nx
        if code == ERROR:
            self.any_errors = True
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
            self.nxt[a] = <int16_t> nx
            return
        self._go(a, nx, R_NONE)

    cdef void _go(self, int32_t a, int32_t s, int32_t rs) noexcept nogil:
        # Walks up the parent chain iteratively: a terminal child may release a waiting parent,
        # whose own terminal move may release the grandparent.
        cdef int32_t p
        while True:
            self.steps[a] += 1
            if s >= 2 and self.steps[a] >= self.max_steps:
                s = FAILED
                rs = R_STEPS
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
            p = self.parent1[a] - 1
            if p < 0:
                return
            self.pending[p] -= 1
            if self.pending[p] != 0 or self.status[p] != WAITING:
                return
            a = p
            s = self.nxt[p]
            rs = R_NONE

    # ---- dispatch -----------------------------------------------------------------------------

    cdef array _buffer(self, array buf, array like, Py_ssize_t size):
        # reuse buf unless a batch still holds a view of it (or it is too small)
        if buf is not None and Py_REFCNT(buf) <= 2 and len(buf) >= size:
            return buf
        return clone(like, max(size, 16), False)

    def tick(self, double now, const int32_t[::1] caps, int32_t[::1] offsets, int64_t[::1] counts):
        """Expire timeouts, end backoffs, count agents per state and hand out ready agents.

        ``caps[k]`` bounds how many agents action k may receive now. Returns ``(ids, attempts,
        earliest)``: buffers where the agents handed out in state s are
        ``ids[offsets[s]:offsets[s+1]]`` (now RUNNING; one batch never mixes states, even where
        states share an action), and the earliest pending deadline or retry time (inf if none).
        ``counts`` receives agents per state, ``counts[n_states]`` those waiting on children
        or a retry. Hold on to slices of ``ids`` as long as needed: a buffer still viewed is
        never reused.
        """
        cdef Py_ssize_t n_act = caps.shape[0], n = self.n, a, k, i, total = 0
        cdef int32_t s, act, n_used = 0
        cdef uint8_t st
        cdef double earliest = INFINITY, t
        if offsets.shape[0] != self.n_states + 1 or counts.shape[0] != self.n_states + 1:
            raise ValueError("offsets and counts need n_states+1 entries")
        self.scr_ids = self._buffer(self.scr_ids, _I32, n)
        self.scr_att = self._buffer(self.scr_att, _U16, n)
        cdef int32_t *fill = <int32_t *> _calloc(self.n_states + 1, 4)
        cdef int32_t *per_state = <int32_t *> _calloc(self.n_states + 1, 4)
        cdef int32_t *want = <int32_t *> _calloc(n_act + 1, 4)
        cdef int32_t *sid = <int32_t *> self.scr_ids.data.as_ints
        cdef uint16_t *sat = <uint16_t *> self.scr_att.data.as_ushorts
        cdef uint8_t *status = self.status
        cdef int32_t *state = self.state
        cdef double *timer = self.timer
        cdef uint16_t *attempt = self.attempt
        cdef double *timeout = self.timeout
        cdef int32_t *action_of = self.action_of
        cdef int32_t ns = self.n_states
        cdef bint any_timeout = self.any_timeout
        with nogil:
            memset(&counts[0], 0, (ns + 1) * sizeof(int64_t))
            for a in range(n):
                st = status[a]
                if st == RUNNING:
                    if any_timeout:
                        t = timer[a]
                        if t <= now:
                            self.n_expired += 1
                            self._complete(<int32_t> a, ERROR, R_TIMEOUT, now)
                            st = status[a]
                        elif t < earliest:
                            earliest = t
                elif st == BACKOFF:
                    t = timer[a]
                    if t <= now:
                        status[a] = READY
                        st = READY
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
                if per_state[s] == 0:
                    n_used += 1
                want[act] += 1
                per_state[s] += 1
                status[a] = RUNNING
                attempt[a] += 1
                if any_timeout:
                    t = now + timeout[s]
                    timer[a] = t
                    if t < earliest:
                        earliest = t
                sid[total] = <int32_t> a
                sat[total] = attempt[a]
                total += 1
            offsets[0] = 0
            for k in range(ns):
                offsets[k + 1] = offsets[k] + per_state[k]
                fill[k] = offsets[k]
        PyMem_Free(want)
        PyMem_Free(per_state)
        if n_used <= 1:  # one state (or none): the handed-out list is already in order
            PyMem_Free(fill)
            return memoryview(self.scr_ids)[:total], memoryview(self.scr_att)[:total], earliest
        # several states: a counting sort groups the agents by state
        self.buf_ids = self._buffer(self.buf_ids, _I32, total)
        self.buf_att = self._buffer(self.buf_att, _U16, total)
        cdef int32_t *o = <int32_t *> self.buf_ids.data.as_ints
        cdef uint16_t *oa = <uint16_t *> self.buf_att.data.as_ushorts
        with nogil:
            for i in range(total):
                a = sid[i]
                s = state[a]
                o[fill[s]] = <int32_t> a
                oa[fill[s]] = sat[i]
                fill[s] += 1
        PyMem_Free(fill)
        return memoryview(self.buf_ids)[:total], memoryview(self.buf_att)[:total], earliest

    # ---- inspection ---------------------------------------------------------------------------

    @property
    def size(self):
        return self.n

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

    def get(self, Py_ssize_t a):
        """(state, status, steps, retries, reason, parent, pending) of agent ``a``."""
        if a < 0 or a >= self.n:
            raise IndexError(f"agent {a} does not exist (swarm has {self.n})")
        return (self.state[a], self.status[a], self.steps[a], self.retries[a], self.reason[a],
                self.parent1[a] - 1, self.pending[a])

    def column(self, str name):
        """A zero-copy memoryview of one column (valid until the next spawn grows the swarm)."""
        if self.n == 0:
            return memoryview(b"").cast("i")
        if name == "state":
            return memoryview(<int32_t[:self.n]> self.state)
        if name == "status":
            return memoryview(<uint8_t[:self.n]> self.status)
        if name == "steps":
            return memoryview(<uint16_t[:self.n]> self.steps)
        if name == "retries":
            return memoryview(<uint8_t[:self.n]> self.retries)
        if name == "reason":
            return memoryview(<int32_t[:self.n]> self.reason)
        if name == "pending":
            return memoryview(<int32_t[:self.n]> self.pending)
        if name == "attempt":
            return memoryview(<uint16_t[:self.n]> self.attempt)
        if name == "timer":
            return memoryview(<double[:self.n]> self.timer)
        raise KeyError(f"no column {name!r}")


cdef void *_calloc(size_t count, size_t size) except NULL:
    cdef void *p = PyMem_Calloc(count, size)
    if p == NULL:
        raise MemoryError(f"cannot allocate {count} x {size} bytes for agent columns")
    return p


cdef void *_move(void *old, Py_ssize_t n, Py_ssize_t cap, size_t size) except NULL:
    # a fresh zeroed block (untouched pages stay unmapped) holding the first n old entries
    cdef void *p = _calloc(cap, size)
    if old != NULL:
        memcpy(p, old, n * size)
        PyMem_Free(old)
    return p
