"""Exit codes, the same for every command (DESIGN.md)."""

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
