-- Companies (objects of type 1) changed since the start of the last successful sync of this task.
SELECT
    id AS object_id,
    name,
    industry,
    employees
FROM companies
WHERE updated_at >= FROM_UNIXTIME({{ last_sync_time }})
