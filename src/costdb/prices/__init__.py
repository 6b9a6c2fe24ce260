"""Prices nobody has to type: the public list synced exactly, names resolved, gaps shown."""
