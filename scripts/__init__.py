"""Operator and build tools (``python -m scripts.<tool>`` from the repository root)."""
