"""Budgets: limits per project, feature or user and period (``store``), the thresholds they
cross recorded once per period (``alerts``) and delivered at least once (``delivery`` over a
``webhook``), one check run (``check``). The spend itself is the database's:
``costdb_budget_status()`` and the ``budget_status`` view (revision 0008)."""
