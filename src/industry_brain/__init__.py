"""Industry Brain (产业大脑): data platform for a bureau governing and serving its manufacturing."""

__version__ = "0.1.0"
