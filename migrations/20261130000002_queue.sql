-- Honest waiting: a pending smelt knows its place in the queue and roughly how long until a
-- worker starts it, and is told as the queue moves.

alter table smelt
    -- When a worker first took the job (the measured pace of the queue is started → completed).
    add column started_at     timestamptz,
    -- The queue position last announced to the smelt's subscribers (null when none was).
    add column queue_position integer;
create index smelt_pending_idx on smelt (created_at, smelt_id) where status = 'pending';
create index smelt_recently_completed_idx on smelt (completed_at) where status = 'completed';

-- Workers alive and how many jobs each runs at once. A worker refreshes its row every few
-- seconds; rows not seen for 30 seconds no longer count.
create table worker_heartbeat (
    worker_id uuid        primary key,
    slots     integer     not null,
    seen_at   timestamptz not null default now(),
    constraint worker_heartbeat_slots_check check (slots > 0)
);

-- Every pending smelt's place in the queue (1 = the next to start; the queue is first in,
-- first out) and the estimated seconds until a worker starts it: none when no worker is
-- alive; 0 while a worker slot is free; otherwise the number of rounds the slots need to
-- reach it times the average run time of the smelts completed in the last hour (60 s until
-- there is one).
create function smelt_queue()
returns table (smelt_id uuid, queue_position integer, estimated_wait_seconds integer)
language sql stable as $$
    with slots as (
        select coalesce(sum(slots), 0)::integer as n from worker_heartbeat
        where seen_at > now() - interval '30 seconds'
    ), busy as (
        select count(*)::integer as n from smelt
        where status in ('validating', 'decoding', 'transcribing', 'synthesizing')
    ), pace as (
        select coalesce(avg(extract(epoch from completed_at - started_at)), 60) as secs
        from smelt
        where status = 'completed' and completed_at > now() - interval '1 hour'
          and started_at is not null
    ), pending as (
        select s.smelt_id, row_number() over (order by s.created_at, s.smelt_id)::integer as position
        from smelt s where s.status = 'pending'
    )
    select p.smelt_id, p.position,
           case
               when slots.n = 0 then null
               when p.position <= greatest(slots.n - busy.n, 0) then 0
               else (ceil((p.position - greatest(slots.n - busy.n, 0))::numeric / slots.n)
                     * pace.secs)::integer
           end
    from pending p, slots, busy, pace
$$;

-- Announces the new place of every pending smelt whose position changed since it was last
-- told, as a `progress` event (stage `pending`, with `queue_position` and
-- `estimated_wait_seconds`). Called when a smelt leaves the queue. Returns how many smelts
-- were told.
create function smelt_announce_queue()
returns integer
language plpgsql as $$
declare
    r       record;
    v_count integer := 0;
begin
    for r in
        select q.smelt_id, q.queue_position, q.estimated_wait_seconds, s.progress_percentage,
               s.progress_message
        from smelt_queue() q join smelt s on s.smelt_id = q.smelt_id
        where s.queue_position is distinct from q.queue_position
        order by q.queue_position
    loop
        update smelt set queue_position = r.queue_position where smelt_id = r.smelt_id;
        perform smelt_append_events(r.smelt_id, array['progress'], array[jsonb_build_object(
            'smelt_id', r.smelt_id,
            'status', 'pending',
            'progress', jsonb_strip_nulls(jsonb_build_object(
                'percentage', r.progress_percentage,
                'stage', 'pending',
                'message', r.progress_message,
                'queue_position', r.queue_position,
                'estimated_wait_seconds', r.estimated_wait_seconds)),
            'files', coalesce((
                select jsonb_agg(jsonb_build_object('id', f.smelt_file_id, 'status', f.status,
                                                    'progress', 0) order by f.position)
                from smelt_file f where f.smelt_id = r.smelt_id), '[]'::jsonb))]);
        v_count := v_count + 1;
    end loop;
    return v_count;
end
$$;

-- Progress as before, and when the smelt leaves the queue (its first stage), the time it was
-- started is recorded and the smelts behind it are told their new places.
create or replace function smelt_publish_progress(
    p_smelt_id       uuid,
    p_status         text,
    p_percentage     smallint,
    p_message        text,
    p_file_id        uuid,
    p_segments       jsonb,
    p_transcribed_ms integer,
    p_kinds          text[],
    p_payloads       jsonb[])
returns bigint
language plpgsql as $$
declare
    v_old  text;
    v_last bigint;
begin
    perform set_config('synchronous_commit', 'off', true);
    select status into v_old from smelt where smelt_id = p_smelt_id for update;
    if v_old is null or v_old in ('completed', 'failed', 'cancelled') then
        return null;
    end if;
    update smelt set status = p_status,
                     progress_percentage = greatest(progress_percentage, p_percentage),
                     progress_message = p_message,
                     started_at = case when v_old = 'pending' and p_status <> 'pending'
                                       then coalesce(started_at, now()) else started_at end,
                     queue_position = case when p_status = 'pending' then queue_position end,
                     updated_at = now()
    where smelt_id = p_smelt_id;
    if p_file_id is not null then
        insert into smelt_segment (smelt_file_id, segment_index, smelt_id, start_ms, end_ms, text, words)
        select p_file_id, (s ->> 'index')::integer, p_smelt_id, (s ->> 'start_ms')::integer,
               (s ->> 'end_ms')::integer, s ->> 'text', nullif(s -> 'words', 'null'::jsonb)
        from jsonb_array_elements(coalesce(p_segments, '[]'::jsonb)) as s
        on conflict on constraint smelt_segment_pkey do nothing;
        update smelt_file set transcribed_ms = greatest(transcribed_ms, coalesce(p_transcribed_ms, 0))
        where smelt_file_id = p_file_id;
    end if;
    v_last := smelt_append_events(p_smelt_id, p_kinds, p_payloads);
    if v_old = 'pending' and p_status <> 'pending' then
        perform smelt_announce_queue();
    end if;
    return v_last;
end
$$;
