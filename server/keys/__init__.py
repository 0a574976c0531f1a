"""The key service: KEKs, case keys and their versions, keyrings, shredding."""
