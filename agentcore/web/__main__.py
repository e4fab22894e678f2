"""`python -m agentcore.web`: serve the local web (see agentcore.web.cli)."""

from agentcore.web.cli import main

raise SystemExit(main())
