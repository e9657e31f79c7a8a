"""The SimPy model: customers (each one a chain of wake-ups on SimPy's clock), the market and
the firm that serves them."""
