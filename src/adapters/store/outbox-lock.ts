/**
 * The key of the outbox's advisory lock on PostgreSQL ("engine room outbox"), paired with
 * `hashtext(current_schema())` so that deployments in other schemas never wait on it. Taken by
 * `_outbox_number_pending()` (migration `outbox-numbered-by-readers`) while it numbers a batch;
 * nodes of earlier versions took it in each write's commit.
 */
export const OUTBOX_LOCK_KEY = 0x45520002
