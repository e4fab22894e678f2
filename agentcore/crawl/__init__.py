"""The generic crawl -> extract -> analyze -> LLM -> store job, configured by its caller."""
