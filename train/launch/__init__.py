"""Submitting, watching and restarting training jobs: backends (local, slurm), node health, heartbeat, supervisor."""
