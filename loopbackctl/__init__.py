"""loopbackctl: keep the loopback interfaces of a fleet as the inventory says, and prove it."""

__version__ = "0.1.0"
