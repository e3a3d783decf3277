"""The wallboard: every engine's live view merged, with the hopper, the alerts, the abandon
rates and the day's chart; and the supervisors' actions on agents (docs/wallboard.md)."""
