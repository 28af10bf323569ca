-- What a smelt asks of speech recognition (the model, the language — `auto` or a code — and
-- the task), and what each file's language turned out to be (detected, with the model's
-- probability, or the one chosen).
alter table smelt
    add column model text not null default 'tiny.en',
    add column language text not null default 'auto',
    add column task text not null default 'transcribe',
    add constraint smelt_task_check check (task in ('transcribe', 'translate'));

alter table smelt_file
    add column language text,
    add column language_probability real,
    add constraint smelt_file_language_probability_check
        check (language_probability between 0 and 1);

-- Which models each live worker serves (`GET /api/config` offers those).
alter table worker_heartbeat add column models text[] not null default '{}';
