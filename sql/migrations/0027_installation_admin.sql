-- An installation admin: an admin who may also change what every client of the installation
-- shares (calling systems, their CRM links, info fields, the installation's do-not-call list).
-- Granted only by the dialerd command, never by the console.
ALTER TABLE users
    ADD COLUMN installation_admin boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT users_installation_admin CHECK (NOT installation_admin OR role = 'admin');

-- Until now every admin could change them: the enabled admins of the lowest client id that has
-- an admin (the first-run client, 1 by default) keep the power, the other clients' admins lose
-- it (docs/operations.md, upgrade notes).
UPDATE users SET installation_admin = true
WHERE role = 'admin' AND NOT disabled
  AND client_id = (SELECT min(client_id) FROM users WHERE role = 'admin' AND NOT disabled);
