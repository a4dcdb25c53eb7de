-- Newsletter signups changed since the start of the last successful sync, identified by email.
SELECT
    email,
    first_name,
    source AS newsletter_source
FROM newsletter_signups
WHERE updated_at >= FROM_UNIXTIME({{ last_sync_time }})
