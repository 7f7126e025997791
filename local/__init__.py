"""The embedded local stack and the provider sandboxes. Never shipped to AWS."""
