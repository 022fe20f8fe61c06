/**
 * The key of the outbox's advisory lock on PostgreSQL ("engine room outbox"), paired with
 * `hashtext(current_schema())` so that deployments in other schemas never wait on it. Taken by
 * the commit trigger of `_outbox_pending` (see the migration that creates it); nodes of earlier
 * versions took it themselves before inserting into `_outbox`.
 */
export const OUTBOX_LOCK_KEY = 0x45520002
