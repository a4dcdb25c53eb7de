-- People whose row changed since the start of the last successful sync.
-- ">=" and not ">": last_sync_time is rounded down to the second, and a row changed in the same second
-- the last sync started may have been committed after that sync read the table. With ">=" such a row
-- is sent again rather than lost. Comparing the indexed column itself (not UNIX_TIMESTAMP(updated_at))
-- lets MySQL use the index.
SELECT
    id,
    email,
    first_name,
    plan,
    created_at,
    deleted_at
FROM users
WHERE updated_at >= FROM_UNIXTIME({{ last_sync_time }})
