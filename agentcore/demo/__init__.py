"""The demo app: a local web of 500 sites crawled, analysed, summarised and stored by one swarm.

``cli`` (flags of `agentcore demo` and `agentcore job`, and the live run), ``run`` (one run end to
end), ``config`` (the demo's job, read from its job file ``demo.toml``),
``display`` (the live view), ``report`` (the HTML report), ``lifecycle`` (`agentcore swarm`).
"""

# Nothing is re-exported: ``agentcore.demo.run`` names the runner module, and a function of the same
# name here would shadow it depending on import order. The CLI calls ``agentcore.demo.cli``.
