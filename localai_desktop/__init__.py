"""LocalAI Desktop: private, offline chat with open-source language models."""

__version__ = "0.1.0"
