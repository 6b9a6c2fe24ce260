"""What the tests and the benchmarks share: throwaway servers, rows, runners, fixtures.

Never part of the product (not in the wheel). The tests load the fixtures with
``pytest_plugins = ("testsupport.fixtures",)``; ``bench/`` and ``make manifest`` import the
rest; nothing imports ``tests``.
"""
