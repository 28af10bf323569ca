-- Service API keys and completion webhooks: what other programs use to call Smelt and to hear
-- back from it.

-- A user's service API key (`ck_…`). Only a SHA-256 hash of the key is kept: the key itself is
-- shown once, when it is created. Users of an external issuer have no `app_user` row, so
-- `user_id` has no foreign key (as in `user_profile`).
create table service_key (
    key_id       uuid        primary key,
    user_id      uuid        not null,
    name         text        not null check (char_length(name) between 1 and 100),
    -- The key's first characters (`ck_` and 8 more), to tell keys apart in a list.
    prefix       text        not null,
    -- SHA-256 of the whole key.
    key_hash     bytea       not null unique,
    scopes       text[]      not null
        check (cardinality(scopes) > 0 and scopes <@ array['smelts:write', 'smelts:read', 'webhooks']),
    created_at   timestamptz not null default now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz
);
create index service_key_user_idx on service_key (user_id, created_at);

-- Announces a revoked key to every server (payload: the key id), which closes the sockets the
-- key opened.
create function service_key_revoked_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('smelt_key_revoked', new.key_id::text);
    return new;
end $$;

create trigger service_key_revoked
    after update of revoked_at on service_key
    for each row when (old.revoked_at is null and new.revoked_at is not null)
    execute function service_key_revoked_notify();

-- A URL that receives a user's terminal smelt events.
create table webhook (
    webhook_id    uuid        primary key,
    user_id       uuid        not null,
    url           text        not null,
    -- The signing secret (`whsec_…`), sealed like users' API keys.
    secret_cipher bytea       not null,
    secret_nonce  bytea       not null,
    created_at    timestamptz not null default now()
);
create index webhook_user_idx on webhook (user_id, created_at);

-- One terminal event to deliver to one webhook. `delivery_id` is the idempotency id sent as
-- `webhook-id` on every attempt.
create table webhook_delivery (
    delivery_id      uuid        primary key default gen_random_uuid(),
    webhook_id       uuid        not null references webhook (webhook_id) on delete cascade,
    smelt_id         uuid        not null,
    event            text        not null check (event in ('completed', 'failed', 'cancelled')),
    -- The body sent: the terminal event as it travels to sockets.
    body             jsonb       not null,
    status           text        not null default 'pending'
        check (status in ('pending', 'delivered', 'given_up')),
    attempts         integer     not null default 0,
    last_status_code integer,
    last_error       text,
    created_at       timestamptz not null default now(),
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    constraint webhook_delivery_once unique (webhook_id, smelt_id)
);
create index webhook_delivery_webhook_idx on webhook_delivery (webhook_id, created_at desc);

-- When a smelt's terminal event is appended, each of its owner's webhooks gets a delivery,
-- queued in the same transaction: a smelt that finished always has its deliveries.
create function smelt_enqueue_webhooks() returns trigger
language plpgsql as $$
declare
    owner uuid;
    d record;
begin
    select user_id into owner from smelt where smelt_id = new.smelt_id;
    if owner is null then
        return new;
    end if;
    for d in
        insert into webhook_delivery (webhook_id, smelt_id, event, body)
        select w.webhook_id, new.smelt_id, new.kind,
               jsonb_build_object('event', new.kind, 'seq', new.seq, 'payload', new.payload)
        from webhook w
        where w.user_id = owner
        on conflict (webhook_id, smelt_id) do nothing
        returning delivery_id
    loop
        perform pgmq.send('smelt_webhooks', jsonb_build_object('delivery_id', d.delivery_id));
    end loop;
    return new;
end $$;

create trigger smelt_event_webhooks
    after insert on smelt_event
    for each row when (new.kind in ('completed', 'failed', 'cancelled'))
    execute function smelt_enqueue_webhooks();
