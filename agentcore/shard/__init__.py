"""Sharded runs of the crawl job on Ray: shards are actors running their own swarm, agents stay rows.

``run_sharded`` splits the sites by host, starts N shard actors (each with its own CPU budget,
kernel pool and engine), hands idle shards chunks of unstarted sites, merges their progress, and
re-runs a lost shard's sites on another: every shard writes to one store with the job's
idempotent keys, and each chunk runs as a resumed job, so nothing is lost or written twice::

    from agentcore.shard import run_sharded

    run = run_sharded(job, sites, shards=2, address="local", store_url="postgresql://...",
                      run_id=run_id)                     # job: a JobFile or a job factory
    run.stats["pages_ok"], run.shard_rates()             # merged counters, pages/s per shard

Ray is an optional extra (``pip install agentcore[ray]``) and is imported only when a sharded
run starts: ``import agentcore`` (and ``import agentcore.shard``) never loads it.
"""
from __future__ import annotations

from .plan import WorkQueue, split_by_host
from .driver import ShardedRun, ShardsLost, run_sharded, run_stats

__all__ = ["run_sharded", "run_stats", "ShardedRun", "ShardsLost", "WorkQueue", "split_by_host"]
