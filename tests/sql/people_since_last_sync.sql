-- People changed since the last successful sync ({{ last_sync_time }} is 0 before the first).
SELECT id, first_name, {{last_sync_time}} AS synced_since
FROM users
WHERE updated_at >= {{ last_sync_time }}
ORDER BY id;
