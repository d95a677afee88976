"""A fast, deterministic simulated vending shop (plain Python + NumPy; no database, no Django in the loop)."""
