"""Firm policies, one module each; each is off unless its scenario section switches it on.

* :mod:`~crmsim.policies.service_desk` — the service desk and complaint handling (投诉处理).
"""
