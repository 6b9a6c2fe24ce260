"""What every ``costdb`` command group shares: its options, one context, the lazy group."""
