-- Person-company relationships changed since the start of the last successful sync of this task.
-- "removed AS deleted": a membership marked removed deletes the relationship in the workspace.
-- ORDER BY the person: consecutive rows of one person travel in one op.
SELECT
    user_id AS id,
    company_id AS object_id,
    role,
    removed AS deleted
FROM memberships
WHERE updated_at >= FROM_UNIXTIME({{ last_sync_time }})
ORDER BY user_id
