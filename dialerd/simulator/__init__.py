"""``dialerd simulate``: the engine's pacers in a discrete-event simulation of a campaign day."""
