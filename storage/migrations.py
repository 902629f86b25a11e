"""Schema migrations, applied in order at start; never edit a released one, append a new one.

The SQL is kept portable (no SQLite-only syntax) so a PostgreSQL backend can follow.
Money columns are integers: ``*_cents`` in US cents, ``*_stars`` in Telegram Stars.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS"]

_V1 = (
    """CREATE TABLE users (
        id BIGINT PRIMARY KEY,
        first_name TEXT NOT NULL DEFAULT '',
        username TEXT,
        language_code TEXT,
        language TEXT,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL
    )""",
    """CREATE TABLE packages (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        scope TEXT NOT NULL,
        location TEXT NOT NULL,
        region TEXT,
        volume_bytes BIGINT NOT NULL,
        duration_days INTEGER NOT NULL,
        price_cents INTEGER NOT NULL,
        supports_topup INTEGER NOT NULL,
        max_privacy INTEGER NOT NULL,
        details TEXT NOT NULL,
        active INTEGER NOT NULL,
        synced_at INTEGER NOT NULL
    )""",
    """CREATE TABLE package_countries (
        package_code TEXT NOT NULL REFERENCES packages(code) ON DELETE CASCADE,
        country_code TEXT NOT NULL,
        PRIMARY KEY (package_code, country_code)
    )""",
    "CREATE INDEX package_countries_by_country ON package_countries (country_code)",
    """CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        reference TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        user_id BIGINT NOT NULL REFERENCES users(id),
        chat_id BIGINT NOT NULL,
        package_code TEXT NOT NULL,
        package_name TEXT NOT NULL,
        target_iccid TEXT,
        price_stars INTEGER NOT NULL,
        cost_cents INTEGER NOT NULL,
        status TEXT NOT NULL,
        external_order_id TEXT UNIQUE,
        reseller_order_id TEXT UNIQUE,
        iccid TEXT,
        progress_message_id BIGINT,
        failure_reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_check_at INTEGER,
        language TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        paid_at INTEGER,
        delivered_at INTEGER
    )""",
    "CREATE INDEX orders_by_status ON orders (status, next_check_at)",
    "CREATE INDEX orders_by_user ON orders (user_id, created_at)",
    """CREATE TABLE payments (
        id INTEGER PRIMARY KEY,
        charge_id TEXT NOT NULL UNIQUE,
        order_id INTEGER REFERENCES orders(id),
        user_id BIGINT NOT NULL,
        amount_stars INTEGER NOT NULL,
        currency TEXT NOT NULL,
        payload TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at INTEGER NOT NULL
    )""",
    "CREATE UNIQUE INDEX payments_one_per_order ON payments (order_id)",
    """CREATE TABLE esims (
        iccid TEXT PRIMARY KEY,
        order_id INTEGER NOT NULL UNIQUE REFERENCES orders(id),
        user_id BIGINT NOT NULL,
        package_code TEXT NOT NULL,
        activation_code TEXT NOT NULL,
        qr_code_url TEXT,
        short_url TEXT,
        status TEXT,
        smdp_status TEXT,
        total_bytes BIGINT,
        used_bytes BIGINT,
        expires_at TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    )""",
    "CREATE INDEX esims_by_user ON esims (user_id)",
    """CREATE TABLE refunds (
        id INTEGER PRIMARY KEY,
        order_id INTEGER NOT NULL UNIQUE REFERENCES orders(id),
        charge_id TEXT,
        amount_stars INTEGER NOT NULL,
        reason TEXT NOT NULL,
        requested_by BIGINT,
        status TEXT NOT NULL,
        reseller_refund_cents INTEGER,
        created_at INTEGER NOT NULL,
        completed_at INTEGER
    )""",
    """CREATE TABLE webhook_events (
        id INTEGER PRIMARY KEY,
        dedup_key TEXT NOT NULL UNIQUE,
        event TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        processed_at INTEGER,
        outcome TEXT
    )""",
    """CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY,
        admin_id BIGINT NOT NULL,
        action TEXT NOT NULL,
        target TEXT,
        details TEXT,
        created_at INTEGER NOT NULL
    )""",
    """CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    )""",
)

# A payment that matched no order is refunded; "owed" until Telegram confirms, then "done".
_V2 = ("ALTER TABLE payments ADD COLUMN refund_status TEXT",)

# Every paid order has an exit (bot/orders): when it was placed with the reseller (the books),
# when the customer and admins were told it is late, and what became of an eSIM that arrived
# after the order was refunded ("watch" until it is cancelled or known never to come).
# A refund records whether the reseller cancel came first, so a crash between the cancel and the
# Stars refund still ends in the refund.
_V3 = (
    "ALTER TABLE orders ADD COLUMN ordered_at INTEGER",
    "ALTER TABLE orders ADD COLUMN late_notified_at INTEGER",
    "ALTER TABLE orders ADD COLUMN after_refund TEXT",
    "ALTER TABLE refunds ADD COLUMN cancel_iccid TEXT",
    "ALTER TABLE refunds ADD COLUMN cancel_outcome TEXT",
    "CREATE INDEX orders_by_target ON orders (target_iccid)",
    "CREATE INDEX orders_by_ordered_at ON orders (ordered_at)",
    "CREATE INDEX payments_by_created_at ON payments (created_at)",
)

# After the sale (issue 12): users who blocked the bot get nothing more; customers can turn
# reminders off; every care notice (low data, expiry, connected) is sent once, its key written
# before the message goes; broadcasts resume after a restart.
_V4 = (
    "ALTER TABLE users ADD COLUMN blocked_at INTEGER",
    "ALTER TABLE users ADD COLUMN reminders INTEGER NOT NULL DEFAULT 1",
    """CREATE TABLE care_notices (
        iccid TEXT NOT NULL,
        notice TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        PRIMARY KEY (iccid, notice)
    )""",
    # An admin's broadcast, checkpointed as it goes, so a restart resumes it.
    """CREATE TABLE broadcasts (
        id INTEGER PRIMARY KEY,
        admin_id BIGINT NOT NULL,
        chat_id BIGINT NOT NULL,
        message_id BIGINT,
        text TEXT NOT NULL,
        language TEXT NOT NULL,
        total INTEGER NOT NULL,
        next_user_id BIGINT NOT NULL,
        sent INTEGER NOT NULL,
        blocked INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        finished_at INTEGER
    )""",
)

# Scale (issue 15): an index under every hot query, and the daily roll-up behind /stats (one row
# per closed UTC day; ``locations`` is JSON: [[location, scope, region, orders], ...]).
_V5 = (
    "CREATE INDEX orders_by_paid_at ON orders (paid_at)",
    "CREATE INDEX orders_by_user_id ON orders (user_id, id)",
    "CREATE INDEX orders_by_iccid ON orders (iccid)",
    "CREATE INDEX refunds_by_created_at ON refunds (created_at)",
    "CREATE INDEX esims_by_user_created ON esims (user_id, created_at)",
    "ALTER TABLE webhook_events ADD COLUMN order_id INTEGER",
    "CREATE INDEX webhook_events_by_processed_at ON webhook_events (processed_at)",
    "CREATE INDEX webhook_events_by_event ON webhook_events (event, id)",
    "CREATE INDEX audit_log_by_action ON audit_log (action, target, id)",
    """CREATE TABLE stats_days (
        day INTEGER PRIMARY KEY,
        orders INTEGER NOT NULL,
        stars_received INTEGER NOT NULL,
        stars_refunded INTEGER NOT NULL,
        refunds INTEGER NOT NULL,
        admin_refunds INTEGER NOT NULL,
        cost_cents INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        locations TEXT NOT NULL,
        computed_at INTEGER NOT NULL
    )""",
)

# The roll-up behind /audit (storage.books): one row per closed UTC day, the Stars keyed by
# the payment's day and the cost by the day the order was placed.
_V6 = (
    """CREATE TABLE books_days (
        day INTEGER PRIMARY KEY,
        received INTEGER NOT NULL,
        delivered INTEGER NOT NULL,
        refunded INTEGER NOT NULL,
        in_flight INTEGER NOT NULL,
        cost_cents INTEGER NOT NULL,
        computed_at INTEGER NOT NULL
    )""",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3, _V4, _V5, _V6)
