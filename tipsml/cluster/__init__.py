"""Kubernetes clusters run on this machine: the API-server-only dev cluster, and the real single-node cluster."""
