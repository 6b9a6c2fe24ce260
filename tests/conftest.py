"""The fixtures live in ``testsupport.fixtures`` (shared with nothing else, but kept beside the
helpers the benchmarks use too, so that no one imports ``tests``)."""

pytest_plugins = ("testsupport.fixtures",)
