"""Transaction protocols: the Beckn v2 envelope, signatures and use-case flows."""
