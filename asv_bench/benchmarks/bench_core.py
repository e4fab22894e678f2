"""The swarm core: the anchors' 6-state no-op lifecycle at 10k / 100k / 1M agents, and startup."""
import subprocess
import sys

from agentcore import Swarm
from agentcore.bench.lifecycle import lifecycle_spec


class Lifecycle:
    params = ([10_000, 100_000, 1_000_000], ["compiled", "pure"])
    param_names = ["agents", "kernels"]
    timeout = 300

    def setup(self, n, backend):
        if backend == "pure" and n > 100_000:
            raise NotImplementedError("the pure twin is for correctness, not 1M-agent runs")
        self.spec = lifecycle_spec(inline=True)
        self.spec.compile()
        Swarm(self.spec, 1, kernels=backend).run()  # load the step module outside the timing

    def time_lifecycle(self, n, backend):
        Swarm(self.spec, n, kernels=backend).run()

    def peakmem_lifecycle(self, n, backend):
        Swarm(self.spec, n, kernels=backend).run()


class PooledLifecycle:
    """Same workload with batches handed to the worker pool (the path nogil kernels take)."""

    params = [10_000, 1_000_000]
    param_names = ["agents"]

    def setup(self, n):
        self.spec = lifecycle_spec(inline=False)
        self.spec.compile()

    def time_lifecycle_pool(self, n):
        with Swarm(self.spec, n) as swarm:
            swarm.run()


class Startup:
    """New processes: `import agentcore`, and import + a 1-agent swarm + exit."""

    repeat = 5
    number = 1

    def time_import(self):
        subprocess.run([sys.executable, "-c", "import agentcore"], check=True)

    def time_cold_start_one_agent(self):
        subprocess.run([sys.executable, "-c",
                        "import agentcore as a; s=a.Swarm(a.AgentSpec([a.State('W', a.batch_action("
                        "lambda b: None, inline=True), on_ok='DONE')]), 1); assert s.run().done == 1"],
                       check=True)

    def time_bare_interpreter(self):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
