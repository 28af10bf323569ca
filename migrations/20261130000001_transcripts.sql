-- Live transcripts: segments stored and published while a file is transcribed, the transcript
-- kept as a result of its own before synthesis starts, cancellation as a final status, and the
-- one-round-trip publishing of events.

-- A smelt can be cancelled by its owner (or the holder of its subscription token); like a
-- failure it carries an error code (`cancelled`).
alter table smelt drop constraint smelt_status_check;
alter table smelt add constraint smelt_status_check check (status in
    ('pending', 'validating', 'decoding', 'transcribing', 'synthesizing', 'completed', 'failed',
     'cancelled'));
alter table smelt drop constraint smelt_error_check;
alter table smelt add constraint smelt_error_check
    check ((status in ('failed', 'cancelled')) = (error_code is not null));

alter table smelt
    -- Word-level timings were asked for (they cost extra transcription time).
    add column word_timestamps boolean not null default false,
    -- The prompt whose notes failed, when a failure came from synthesis.
    add column failed_prompt   text;

alter table smelt_event drop constraint smelt_event_kind_check;
alter table smelt_event add constraint smelt_event_kind_check
    check (kind in ('progress', 'segment', 'completed', 'failed', 'cancelled'));

-- How far transcription of a file has got (ms of its audio), so that a redelivered job resumes
-- where the last one stopped, and when it finished (a redelivery then skips the file).
alter table smelt_file
    add column transcribed_ms integer     not null default 0,
    add column transcribed_at timestamptz,
    add constraint smelt_file_transcribed_check check (transcribed_ms >= 0);

-- The transcript of a file, one row per segment, in order. Times are ms from the start of the
-- file. `words` holds word timings (`[{word, start_ms, end_ms, probability}]`) when asked for.
create table smelt_segment (
    smelt_file_id uuid    not null references smelt_file (smelt_file_id) on delete cascade,
    segment_index integer not null,
    smelt_id      uuid    not null references smelt (smelt_id) on delete cascade,
    start_ms      integer not null,
    end_ms        integer not null,
    text          text    not null,
    words         jsonb,
    constraint smelt_segment_pkey primary key (smelt_file_id, segment_index),
    constraint smelt_segment_times_check check (start_ms >= 0 and end_ms >= start_ms)
);
create index smelt_segment_smelt_idx on smelt_segment (smelt_id);

-- Each result is one document: a transcript, or the notes of one prompt (`prompt` is the
-- built-in prompt's name or `custom`).
alter table smelt_result
    add column kind   text not null default 'notes',
    add column prompt text,
    add constraint smelt_result_kind_check check (kind in ('transcript', 'notes')),
    add constraint smelt_result_prompt_check check ((kind = 'transcript') = (prompt is null));

-- Publishing an event in one round trip.
--
-- `smelt_append_events` numbers events with the smelt's next seqs (the row lock taken by the
-- update serialises writers of one smelt, and a rolled back transaction rolls its numbers back,
-- so the sequence stays gap-free), stores them and announces each with `pg_notify`, which
-- Postgres delivers only when the transaction commits. The announcement is
-- `{smelt_id} {seq} {kind} {appended_us} [{frame}]`: the frame (the wire JSON) travels inline
-- when it keeps the payload well under NOTIFY's 8000-byte limit, else it is read from the table.
-- Returns the last seq appended, or null when the smelt does not exist.
create function smelt_append_events(p_smelt_id uuid, p_kinds text[], p_payloads jsonb[])
returns bigint
language plpgsql as $$
declare
    v_count integer := coalesce(array_length(p_kinds, 1), 0);
    v_last  bigint;
    v_seq   bigint;
    v_frame text;
    v_now   bigint := (extract(epoch from clock_timestamp()) * 1000000)::bigint;
begin
    update smelt set last_seq = last_seq + v_count where smelt_id = p_smelt_id
    returning last_seq into v_last;
    if v_last is null then
        return null;
    end if;
    for i in 1 .. v_count loop
        v_seq := v_last - v_count + i;
        insert into smelt_event (smelt_id, seq, kind, payload)
        values (p_smelt_id, v_seq, p_kinds[i], p_payloads[i]);
        v_frame := format('{"event":"%s","seq":%s,"payload":%s}', p_kinds[i], v_seq, p_payloads[i]::text);
        perform pg_notify('smelt_events',
            case when length(v_frame) <= 7000
                then format('%s %s %s %s %s', p_smelt_id, v_seq, p_kinds[i], v_now, v_frame)
                else format('%s %s %s %s', p_smelt_id, v_seq, p_kinds[i], v_now)
            end);
    end loop;
    return v_last;
end
$$;

-- Progress of a running smelt, with the transcript segments finished since the last call, in
-- one statement: moves the smelt to `p_status` (the percentage never goes back), stores the
-- segments of `p_file_id` (`p_segments` is a JSON array of
-- `{index, start_ms, end_ms, text, words}`) and how far its transcription got, and appends the
-- events. The commit is asynchronous (a crash may lose the last few hundred ms of progress; the
-- redelivered job publishes it again). Returns the last seq, or null when the smelt is gone or
-- already finished (deleted or cancelled while running): the worker then stops.
create function smelt_publish_progress(
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
    v_found boolean;
begin
    perform set_config('synchronous_commit', 'off', true);
    update smelt set status = p_status,
                     progress_percentage = greatest(progress_percentage, p_percentage),
                     progress_message = p_message,
                     updated_at = now()
    where smelt_id = p_smelt_id and status not in ('completed', 'failed', 'cancelled')
    returning true into v_found;
    if v_found is null then
        return null;
    end if;
    if p_file_id is not null then
        insert into smelt_segment (smelt_file_id, segment_index, smelt_id, start_ms, end_ms, text, words)
        select p_file_id, (s ->> 'index')::integer, p_smelt_id, (s ->> 'start_ms')::integer,
               (s ->> 'end_ms')::integer, s ->> 'text', nullif(s -> 'words', 'null'::jsonb)
        from jsonb_array_elements(coalesce(p_segments, '[]'::jsonb)) as s
        on conflict on constraint smelt_segment_pkey do nothing;
        update smelt_file set transcribed_ms = greatest(transcribed_ms, coalesce(p_transcribed_ms, 0))
        where smelt_file_id = p_file_id;
    end if;
    return smelt_append_events(p_smelt_id, p_kinds, p_payloads);
end
$$;
