-- A small data set for the example DAGs (the demo and the tests load it after schema.sql). Rows were
-- last changed a day ago, so a first sync sends them all and a later sync only what changed since.

INSERT INTO users (id, email, first_name, plan, created_at, updated_at) VALUES
    (1, 'ada@example.com', 'Ada', 'pro', NOW() - INTERVAL 400 DAY, NOW() - INTERVAL 1 DAY),
    (2, 'grace@example.com', 'Grace', 'free', NOW() - INTERVAL 300 DAY, NOW() - INTERVAL 1 DAY),
    (3, 'alan@example.com', 'Alan', 'free', NOW() - INTERVAL 200 DAY, NOW() - INTERVAL 1 DAY),
    (4, 'katherine@example.com', 'Katherine', 'team', NOW() - INTERVAL 150 DAY, NOW() - INTERVAL 1 DAY),
    (5, 'edsger@example.com', NULL, 'free', NOW() - INTERVAL 90 DAY, NOW() - INTERVAL 1 DAY),
    (6, 'barbara@example.com', 'Barbara', 'pro', NOW() - INTERVAL 30 DAY, NOW() - INTERVAL 1 DAY);

INSERT INTO companies (id, name, industry, employees, updated_at) VALUES
    (101, 'Analytical Engines Ltd', 'Hardware', 12, NOW() - INTERVAL 1 DAY),
    (102, 'Compiler Co', 'Software', 250, NOW() - INTERVAL 1 DAY),
    (103, 'Orbital Mechanics Inc', NULL, 40, NOW() - INTERVAL 1 DAY);

INSERT INTO memberships (user_id, company_id, role, removed, updated_at) VALUES
    (1, 101, 'founder', FALSE, NOW() - INTERVAL 1 DAY),
    (2, 102, 'admin', FALSE, NOW() - INTERVAL 1 DAY),
    (3, 101, 'engineer', FALSE, NOW() - INTERVAL 1 DAY),
    (4, 103, 'admin', FALSE, NOW() - INTERVAL 1 DAY),
    (6, 102, NULL, FALSE, NOW() - INTERVAL 1 DAY);

INSERT INTO newsletter_signups (email, first_name, source, updated_at) VALUES
    ('grace@example.com', 'Grace', 'blog', NOW() - INTERVAL 1 DAY),
    ('linus@example.com', 'Linus', 'conference', NOW() - INTERVAL 1 DAY),
    ('margaret@example.com', NULL, 'blog', NOW() - INTERVAL 1 DAY);
