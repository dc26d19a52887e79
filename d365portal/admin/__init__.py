"""Admin tooling: `check`, `users`, `serve` (issue 6)."""
