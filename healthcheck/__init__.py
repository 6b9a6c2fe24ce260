"""``python -m healthcheck``: the probe's historical entry point, kept for orchestrators'
configurations. The probe itself lives in ``costdb.health``."""
