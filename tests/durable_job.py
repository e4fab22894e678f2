"""A user's own small durable swarm, run as a separate process by tests/test_durable.py.

    python tests/durable_job.py DB RUN_ID LOG [SLOW]

30 groups each spawn 10 items; an item "works" (an async sleep), appends its key to LOG (an
append-only record of every execution, so the test sees what ran twice) and stores a Result row;
a group stores a Summary row counting its items' results in the store, after all of them ended.
"""
import asyncio
import sys

from agentcore import AgentSpec, State, Swarm, async_action, batch_action, store_action
from agentcore.store import col, open_store, table

GROUPS, ITEMS = 30, 10


@table("test_results", key=("item",))
class Result:
    item: str = col("text")
    value: int = col("int", 0)


@table("test_summaries", key=("grp",))
class Summary:
    grp: str = col("text")
    n_items: int = col("int", 0)


def spec(log_path: str, slow: float) -> AgentSpec:
    log = open(log_path, "a", buffering=1)

    def fan_out(batch):
        sw = batch.swarm
        for a in batch.ids:
            g = sw.data["key"][a]
            sw.spawn(a, rows={"key": [f"{g}/item-{j:02d}" for j in range(ITEMS)]}, state="WORK")

    async def work(swarm, aid):
        await asyncio.sleep(slow)
        key = swarm.data["key"][aid]
        if key.endswith("item-07") and key.startswith("group-0"):
            raise RuntimeError("a raising item")  # some agents FAIL: their end is durable too
        swarm.data["value"][aid] = sum(map(ord, key))
        log.write(key + "\n")

    def result(sw, aid):
        return [Result(item=sw.data["key"][aid], value=sw.data["value"][aid])]

    def summary(sw, aid):
        g = sw.data["key"][aid]
        n = sw.store.query("SELECT COUNT(*) FROM test_results WHERE run_id = ? AND item LIKE ?",
                           (sw.run_id, g + "/%"), uses=[Result])[0][0]
        return [Summary(grp=g, n_items=int(n))]

    return AgentSpec([
        State("GROUP", batch_action(fan_out, reads=["key"]), on_ok="SUMMARY"),
        State("SUMMARY", store_action(summary, reads=["key"]), on_ok="DONE"),
        State("WORK", async_action(work, concurrency=4, reads=["key"], writes=["value"]),
              on_ok="SAVE"),
        State("SAVE", store_action(result, reads=["key", "value"]), on_ok="DONE"),
    ], entries=["GROUP", "WORK"], inputs=["key"])


def main(db: str, run_id: str, log_path: str, slow: float = 0.02) -> None:
    store = open_store(db, batch_ms=5)
    if store.get_run(run_id) is None:
        store.create_run({"job": "durable test"}, run_id=run_id)
    swarm = Swarm(spec(log_path, slow), rows={"key": [f"group-{g:02d}" for g in range(GROUPS)]},
                  store=store, run_id=run_id, key="key", outputs=["value"])
    res = swarm.run()
    store.flush()
    print(f"counts={res.counts} skipped={swarm.skipped}", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], *(float(x) for x in sys.argv[4:5]))
