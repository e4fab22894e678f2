"""Benchmarks behind `agentcore bench AREA`: each module has add_arguments(parser) and run(args)."""
