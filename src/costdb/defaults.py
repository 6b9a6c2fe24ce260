"""Every default a costdb command or the library uses, in one place: the command line shows
them in ``--help`` and the library takes them as its own, so the two cannot disagree. No
imports: ``--help`` and the health probe read this module without loading anything else."""

from __future__ import annotations

MIGRATE_WAIT_SECONDS = 60.0
"""``costdb migrate --wait``: how long to ride out a database that does not accept
connections (a container starting beside it)."""
MIGRATE_LOCK_TIMEOUT_SECONDS = 300.0
"""``costdb migrate --lock-timeout``: how long to wait while another runner migrates."""
MAINTENANCE_WAIT_SECONDS = 30.0
"""``--wait`` of ``costdb rollup`` and ``costdb retention``."""
INTERACTIVE_WAIT_SECONDS = 5.0
"""How long a command a person waits on (``costdb similar``, ``prices missing``) rides out a
database that does not accept connections."""
LOCAL_DIRECTORY = ".costdb"
"""``costdb local``: where the cluster, its secrets and URL files live (``COSTDB_LOCAL_DIR``)."""
LOCAL_PORT = 55432
"""``costdb local``: PostgreSQL's port (``COSTDB_LOCAL_PORT``); its health server uses
``HEALTH_PORT`` (``COSTDB_LOCAL_HEALTH_PORT``)."""
LOCAL_MIGRATE_WAIT_SECONDS = 30.0
"""``costdb local up``: the server was started by the same command, so it answers soon."""
LOCAL_MIGRATE_LOCK_TIMEOUT_SECONDS = 60.0
"""``costdb local up``: another ``up`` of the same directory is already serialised."""
ROLLUP_PERIOD = "hour"
ROLLUP_SINCE = "2d"
RETENTION_BATCH_SIZE = 2000
SIMILAR_K = 10
SIMILAR_MIN_SIMILARITY = 0.95
HEALTH_TIMEOUT_SECONDS = 5.0
"""The probe's bound on connecting plus the catalog query (``--timeout``)."""
HEALTH_HOST = "0.0.0.0"  # noqa: S104  (a container's server listens on every interface)
HEALTH_PORT = 8080
HEALTH_CACHE_SECONDS = 1.0
"""The health server reuses a probe result this long: the most checks the database sees."""
HEALTH_IDLE_SECONDS = 10.0
"""The health server closes a connection idle this long (keep-alive clients, slowloris)."""
HTTP_CHECK_TIMEOUT_SECONDS = 7.0
"""``python -m healthcheck.http_check``: below the container health check's own 8-10 s."""
PRICES_SOURCE = "bundled"
"""``costdb prices sync --source``: the price list the installed genai-prices carries."""
PRICES_MISSING_SINCE = "7d"
BUDGET_PERIODS = ("day", "week", "month")
"""A budget's periods (the table's CHECK and ``costdb budgets set --period``)."""
BUDGET_ALERT_THRESHOLDS = (50, 80, 100)
"""A budget's alert thresholds, percent of its limit, when none are given (the column's
default and ``costdb budgets set --alert-at``)."""
BUDGET_WEBHOOK_TIMEOUT_SECONDS = 5.0
"""One POST of a budget alert to the webhook: connect plus answer."""
BUDGET_DELIVERY_SECONDS = 15.0
"""How long one ``costdb budgets check`` spends delivering before it leaves the rest to the
next run: a receiver that is down never holds up the next check or roll-up for longer."""
BUDGET_RETRY_FIRST_SECONDS = 10.0
BUDGET_RETRY_MAX_SECONDS = 3600.0
"""A failed delivery is retried after 10 s, 20 s, 40 s ... at most an hour apart."""
BUDGET_MAX_ATTEMPTS = 24
"""After this many failed deliveries (about 15 hours) an alert is left failed (``costdb
budgets list`` and ``/metrics`` show it)."""
BUDGET_CLAIM_SECONDS = 120.0
"""A checker claims an alert for this long while it delivers it; a checker killed meanwhile
leaves it to the next run once the claim lapses."""
BUDGET_METRICS_TOP = 20
"""``/metrics``: the spend ratio of the budgets nearest their limits, at most this many."""
TLS_EXPIRY_WARN_DAYS = 30
"""The server certificate's last days: the probe warns in them, and the db image (and the
Compose stack's ``secrets`` service) re-issue a certificate they made themselves."""
BACKUP_FULL_EVERY = "7d"
BACKUP_DIFF_EVERY = "1d"
"""``costdb backup schedule``: a full backup weekly, a differential daily (pgBackRest keeps
``repo1-retention-full`` fulls, two by default in the db image, and their WAL)."""
BACKUP_CHECK_EVERY = "60s"
BACKUP_TIMEOUT_SECONDS = 6 * 3600.0
BACKUP_WARN_HOURS = 36.0
"""The probe warns when the newest recorded backup is older (a daily differential, plus half
a day of slack)."""
ARCHIVE_WARN_SEGMENTS = 3
"""The probe warns when this many WAL segments wait for the archive (archiving lags)."""
