"""Helpers the tests share: generated models, a fake Hub, GUI and session set-up."""
