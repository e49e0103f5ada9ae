"""Local mode's own parts: this machine's lo is managed by the Linux driver over the local
transport (local.run); here are what only local mode does: its packet and resolver
checks, which inventory host is this machine, network namespaces, and `probe`."""
