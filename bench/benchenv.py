"""The one place the benchmarks say where this machine may ping (verify --reachability):
loopback, and the ranges the beds' namespaces use; nothing else. Every benchmark imports
this module first."""

from __future__ import annotations

import os

PING_ALLOW = "127.0.0.0/8,::1/128,198.18.0.0/15,2001:db8::/32"
os.environ["LOOPBACKCTL_PING_ALLOW"] = PING_ALLOW
