"""Local mode: this machine's lo, checked and repaired without SSH or an inventory."""
