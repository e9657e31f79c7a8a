"""The SimPy model: customers (one process each), the market and the firm that serves them."""
