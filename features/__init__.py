"""Point-in-time feature pipeline over the account data model (see features.contract)."""
