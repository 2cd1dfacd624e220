"""Drop-ins for the tools people already train with: :mod:`.basicsr` (``type: MDFLoss`` in a BasicSR YAML)."""
