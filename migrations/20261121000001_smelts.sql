-- Smelt's core schema: smelts, their files, their results and their event log.
-- Conventions: lowercase SQL, singular table names, `<table>_id` keys, named constraints.
-- Enumerations are text with CHECK constraints so that the Rust enums stay the one definition
-- of their wire spelling and adding a value is a one-line migration.

-- A user's custom prompt. Prompts are managed through the API by their owner; a smelt may name
-- one (`user_prompt_id`), and the create path checks ownership.
create table user_prompt (
    user_prompt_id uuid primary key,
    user_id        uuid        not null,
    title          text        not null,
    body           text        not null,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);
create index user_prompt_user_idx on user_prompt (user_id, created_at desc);

-- One processing job. `user_id` is null for anonymous smelts (their results are delivered only
-- over the realtime channel). `last_seq` is the seq of the smelt's latest event: events are
-- numbered by incrementing it in the transaction that appends the event, which makes the
-- sequence gap-free (a rolled back transaction rolls back its number too).
create table smelt (
    smelt_id             uuid        primary key,
    user_id              uuid,
    status               text        not null default 'pending',
    mode                 text        not null,
    input_type           text        not null,
    default_prompt_names text[]      not null default '{}',
    user_prompt_id       uuid references user_prompt (user_prompt_id) on delete set null,
    -- Pasted text (at most 50,000 characters); null for audio smelts.
    input_text           text,
    progress_percentage  smallint    not null default 0,
    progress_message     text        not null default 'Waiting to process...',
    error_code           text,
    error_message        text,
    last_seq             bigint      not null default 0,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    completed_at         timestamptz,
    constraint smelt_status_check check (status in
        ('pending', 'validating', 'decoding', 'transcribing', 'synthesizing', 'completed', 'failed')),
    constraint smelt_mode_check check (mode in ('separate', 'combine')),
    constraint smelt_input_type_check check (input_type in ('audio', 'text')),
    constraint smelt_progress_check check (progress_percentage between 0 and 100),
    constraint smelt_error_check check ((status = 'failed') = (error_code is not null))
);
-- The history list: a user's smelts newest first (and by completion time).
create index smelt_user_created_idx on smelt (user_id, created_at desc);
create index smelt_user_completed_idx on smelt (user_id, completed_at desc);

-- One input of a smelt: an uploaded audio file or the pasted text.
create table smelt_file (
    smelt_file_id    uuid        primary key,
    smelt_id         uuid        not null references smelt (smelt_id) on delete cascade,
    position         integer     not null,
    filename         text        not null,
    size_bytes       bigint      not null,
    content_type     text,
    input_type       text        not null,
    -- Key of the upload in the blob store; null for text.
    storage_key      text,
    duration_seconds double precision,
    status           text        not null default 'pending',
    error_code       text,
    constraint smelt_file_position_key unique (smelt_id, position),
    constraint smelt_file_status_check check (status in ('pending', 'processing', 'completed', 'failed')),
    constraint smelt_file_input_type_check check (input_type in ('audio', 'text'))
);

-- One result document (Markdown). `smelt_file_id` is null for a combined result. The unique
-- position makes writing results idempotent when a job is redelivered.
create table smelt_result (
    smelt_result_id uuid        primary key,
    smelt_id        uuid        not null references smelt (smelt_id) on delete cascade,
    smelt_file_id   uuid        references smelt_file (smelt_file_id) on delete cascade,
    position        integer     not null,
    filename        text        not null,
    content         text        not null,
    -- Which engine produced it, e.g. `local:whisper-tiny.en+extractive`.
    engine          text        not null,
    created_at      timestamptz not null default now(),
    constraint smelt_result_position_key unique (smelt_id, position)
);

-- The append-only event log, the source of truth for realtime delivery: subscribers resume
-- from it (`after_seq`), and the server re-reads it after losing its LISTEN connection.
create table smelt_event (
    smelt_id   uuid        not null references smelt (smelt_id) on delete cascade,
    seq        bigint      not null,
    kind       text        not null,
    payload    jsonb       not null,
    created_at timestamptz not null default now(),
    constraint smelt_event_pkey primary key (smelt_id, seq),
    constraint smelt_event_kind_check check (kind in ('progress', 'completed', 'failed'))
);
