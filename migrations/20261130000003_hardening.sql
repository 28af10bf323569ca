-- Fail closed on secrets: a fingerprint of the key that encrypts users' API keys, recorded by
-- the first process that uses it, so that a process holding another key (a worker on another
-- host that generated its own) notices before it tries to decrypt anything.
create table secret_fingerprint (
    name        text        primary key,
    -- Hex HMAC-SHA-256 of a fixed label under the key: identifies the key, reveals nothing.
    fingerprint text        not null,
    created_at  timestamptz not null default now()
);
