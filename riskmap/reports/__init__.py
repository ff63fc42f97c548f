"""Reports, briefings and exports."""
