"""Console users: accounts of a client, passwords, sessions, sign-in throttling, audit log."""
