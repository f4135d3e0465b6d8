"""The operations: each parses its arguments, reads the state, builds a plan and runs it."""
