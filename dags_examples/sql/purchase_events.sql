-- One "purchase" event per order placed since an hour before the start of the last successful sync.
-- The hour of look-back catches orders committed late and clock skew. The orders it selects again are
-- sent again with the same event id (made from the order id), and the workspace keeps each event once.
-- GREATEST(..., 0): before the first sync last_sync_time is 0, and FROM_UNIXTIME of a negative number is
-- NULL, which would select nothing. A person's events are sent in row order: ORDER BY when they happened
-- (orders.id: a bare id is the alias, the person).
SELECT
    user_id AS id,
    id AS event_id,
    created_at AS timestamp,
    total,
    sku
FROM orders
WHERE created_at >= FROM_UNIXTIME(GREATEST({{ last_sync_time }} - 3600, 0))
ORDER BY orders.created_at, orders.id
