"""The Kubernetes admission webhook (edge)."""
