-- The tables the example DAGs read (MySQL 5.7+ / MariaDB 10.3+). Every table has an indexed
-- updated_at that MySQL itself keeps current (ON UPDATE CURRENT_TIMESTAMP), so the syncs can select
-- "what changed since {{ last_sync_time }}" with an index range scan.
-- TIMESTAMP columns are stored in UTC; the sync reads them in a session whose time zone is UTC.

CREATE TABLE users (
    id INT PRIMARY KEY,
    email VARCHAR(254) NOT NULL,
    first_name VARCHAR(100) NULL,
    plan VARCHAR(20) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    deleted_at TIMESTAMP NULL DEFAULT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    KEY users_updated_at (updated_at)
);

CREATE TABLE companies (
    id INT PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    industry VARCHAR(100) NULL,
    employees INT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    KEY companies_updated_at (updated_at)
);

CREATE TABLE memberships (
    user_id INT NOT NULL,
    company_id INT NOT NULL,
    role VARCHAR(50) NULL,
    removed BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, company_id),
    KEY memberships_updated_at (updated_at)
);

CREATE TABLE newsletter_signups (
    email VARCHAR(254) PRIMARY KEY,
    first_name VARCHAR(100) NULL,
    source VARCHAR(50) NOT NULL,
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    KEY newsletter_signups_updated_at (updated_at)
);

-- Append-only: an order is inserted once and never changed, so created_at is when it happened and the
-- events sync selects by it (dags_examples/purchase_events.py).
CREATE TABLE orders (
    id INT PRIMARY KEY,
    user_id INT NOT NULL,
    total DECIMAL(10, 2) NOT NULL,
    sku VARCHAR(50) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    KEY orders_created_at (created_at)
);
