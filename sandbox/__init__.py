"""The local network: composes the building blocks, seeds them, plays the use cases."""
