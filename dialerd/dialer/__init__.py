"""The dialer: scheduling, pacing, call state and outcome classification."""
