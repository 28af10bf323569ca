-- Accounts, credits and own API keys.

-- Users of the built-in email/password sign-up. Users of an external issuer (Supabase Auth and
-- the like) have no row here; their tokens are accepted as they are.
create table app_user (
    user_id       uuid        primary key,
    -- Normalised (trimmed, lowercased) address.
    email         text        not null,
    -- Argon2id PHC string.
    password_hash text        not null,
    created_at    timestamptz not null default now(),
    constraint app_user_email_key unique (email)
);

-- Credits and the own API key of a user (any issuer). Created on first use.
create table user_profile (
    user_id            uuid        primary key,
    credits_remaining  integer     not null,
    weekly_credits_max integer     not null,
    -- Next Monday 00:00 UTC after the current week began.
    credits_reset_at   timestamptz not null,
    -- AES-256-GCM ciphertext of the key (tag included) and its 96-bit nonce.
    api_key_ciphertext bytea,
    api_key_nonce      bytea,
    api_key_last4      text,
    api_key_base_url   text,
    api_key_status     text        not null default 'none',
    created_at         timestamptz not null default now(),
    updated_at         timestamptz not null default now(),
    constraint user_profile_credits_check check (credits_remaining >= 0 and credits_remaining <= weekly_credits_max),
    constraint user_profile_api_key_status_check check (api_key_status in ('none', 'valid', 'invalid')),
    constraint user_profile_api_key_check check ((api_key_ciphertext is null) = (api_key_nonce is null))
);

-- Refresh tokens, stored as SHA-256 hashes. Each login starts a family; refreshing rotates the
-- token within its family; presenting a rotated or revoked token again revokes the family.
create table refresh_token (
    refresh_token_id uuid        primary key,
    user_id          uuid        not null references app_user (user_id) on delete cascade,
    family_id        uuid        not null,
    token_hash       bytea       not null,
    expires_at       timestamptz not null,
    rotated_at       timestamptz,
    revoked_at       timestamptz,
    created_at       timestamptz not null default now(),
    constraint refresh_token_hash_key unique (token_hash)
);
create index refresh_token_family_idx on refresh_token (family_id);

-- Anonymous smelts per client address and UTC day. The address is stored only as an HMAC.
create table anonymous_usage (
    ip_hash     text    not null,
    usage_date  date    not null,
    smelts_used integer not null,
    constraint anonymous_usage_pkey primary key (ip_hash, usage_date)
);

-- What a smelt was charged, so that a failure refunds exactly that, once.
alter table smelt
    add column credit_source      text,
    add column anon_ip_hash       text,
    add column anon_usage_date    date,
    add column credit_refunded_at timestamptz,
    add constraint smelt_credit_source_check check (credit_source in ('weekly', 'anonymous'));
