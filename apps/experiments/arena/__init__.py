"""The agent arena: the demo shop's catalogue and machine on a Vending-Bench-grade world (docs/experiments.md)."""
