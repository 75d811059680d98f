"""Which models exist, their versions, aliases and history."""
