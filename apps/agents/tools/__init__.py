"""Agent tools: `registry` holds the table, `handlers` fills it (imported by `AgentsConfig.ready`)."""
