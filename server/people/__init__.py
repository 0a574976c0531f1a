"""People: accounts and teams, passwords, login throttling, sessions, devices and their
bearer tokens — who someone is and how they prove it."""
