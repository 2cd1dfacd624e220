"""Restoration networks trained with any loss: models, data, loss specs."""
