"""Example plug-ins (documented in docs/plugins.md)."""
