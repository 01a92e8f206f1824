"""Patrols (巡查): signed checkpoint tags, scans from every source, rounds and their alerts."""
