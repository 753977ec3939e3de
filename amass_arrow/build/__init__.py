"""Building a store: plan (reuse, resume), convert one file, parts, executors."""
