"""The demo customer base: a simulator of a B2B SaaS business that knows the true answer."""
