-- Lanes, fairness between users and estimates from audio minutes.
--
-- Every smelt waits in a lane: `fast` (pasted text, short audio), `normal` or `bulk` (asked for
-- by a service key). Each lane is a pgmq queue of its own — `smelt_jobs_fast`, `smelt_jobs`
-- (the one queue from before lanes, now the normal lane, so jobs already queued are still
-- read) and `smelt_jobs_bulk` — created by the services at start like the others. Workers
-- claim jobs through `smelt_claim_job`, which adds the rule pgmq's `read` cannot express: a
-- user's jobs beyond their running limit yield to other users'.

alter table smelt
    add column lane text not null default 'normal',
    add constraint smelt_lane_check check (lane in ('fast', 'normal', 'bulk'));

-- When a file's transcript last reached further into its audio: with `transcribed_ms`, the pace
-- of a running job, without the window it is working on now.
alter table smelt_file add column transcript_advanced_at timestamptz;

-- A lane's waiting smelts in arrival order (places and estimates read it).
drop index smelt_pending_idx;
create index smelt_pending_lane_idx on smelt (lane, created_at, smelt_id) where status = 'pending';
-- The smelts running now (their progress measures the workers' pace).
create index smelt_running_idx on smelt (started_at)
    where status in ('validating', 'decoding', 'transcribing', 'synthesizing');

-- Claims the next job for a worker, as pgmq's `read` does (the message becomes invisible for
-- `p_vt` seconds and its read count goes up), from the lanes' queues in the worker's order
-- (`p_queues`, chosen by weight). First pass: the oldest visible message, lane by lane, whose
-- smelt's owner (the user, or the address of an anonymous client) holds fewer than
-- `p_max_running` jobs; a job is held while its message is invisible, i.e. while a worker runs
-- it or it waits for a retry. Second pass, when the first found none: the oldest visible
-- message, lane by lane, whoever owns it — a user beyond the limit waits while other users'
-- work waits, never while a worker would idle. `p_max_running` 0 skips the first pass.
--
-- Claims are serialised by a transaction-level advisory lock: without it two workers claiming
-- at once would both see the same owner below the limit.
create function smelt_claim_job(p_queues text[], p_vt integer, p_max_running integer)
returns table (queue_name text, msg_id bigint, read_ct integer, message jsonb)
language plpgsql as $$
declare
    v_held  text;
    v_pass  integer;
    v_queue text;
    v_msg   bigint;
begin
    perform pg_advisory_xact_lock(hashtext('smelt_claim_job'));
    select string_agg(format('select message from pgmq.%I where vt > clock_timestamp()',
                             pgmq.format_table_name(q, 'q')), ' union all ')
      into v_held
      from unnest(p_queues) q;
    for v_pass in 1..2 loop
        continue when v_pass = 1 and p_max_running <= 0;
        foreach v_queue in array p_queues loop
            execute format($query$
                with held as (
                    select coalesce(s.user_id::text, s.anon_ip_hash) as owner, count(*) as n
                    from (%s) m join smelt s on s.smelt_id = (m.message->>'smelt_id')::uuid
                    group by 1
                )
                select q.msg_id from pgmq.%I q
                left join smelt s on s.smelt_id = (q.message->>'smelt_id')::uuid
                where q.vt <= clock_timestamp()
                  and ($1 or coalesce((select h.n from held h
                                       where h.owner = coalesce(s.user_id::text, s.anon_ip_hash)),
                                      0) < $2)
                order by q.msg_id
                limit 1
                for update of q skip locked
            $query$, v_held, pgmq.format_table_name(v_queue, 'q'))
            into v_msg
            using v_pass = 2, p_max_running;
            if v_msg is not null then
                return query execute format($query$
                    update pgmq.%I m
                    set last_read_at = clock_timestamp(),
                        vt = clock_timestamp() + make_interval(secs => $2),
                        read_ct = read_ct + 1
                    where m.msg_id = $1
                    returning %L::text, m.msg_id, m.read_ct, m.message
                $query$, pgmq.format_table_name(v_queue, 'q'), v_queue)
                using v_msg, p_vt;
                return;
            end if;
        end loop;
    end loop;
end;
$$;

-- Every pending smelt's lane, its place in that lane (1 = the lane's next to start) and the
-- estimated seconds until a worker starts it: none when no worker is alive; 0 while a worker
-- slot is free for it; otherwise the work ahead of it divided among the slots. The work ahead
-- is what the running jobs have left plus the expected run time of each smelt ahead in its
-- lane: `p_job_secs` plus its audio minutes times the pace of its model, in seconds of work per
-- audio minute. The pace is measured: from the jobs running now (the time from their start to
-- their transcript's last advance over the audio it reaches, once that is at least 30 s), else
-- from the jobs completed in the last hour, else `p_default_pace` (`{"model": seconds per audio
-- minute}`). A running job has left its audio not yet transcribed at that pace, less the time
-- since its last advance (or, before 30 s are transcribed, its expected run time less its time
-- so far).
drop function smelt_queue();
create function smelt_queue(p_default_pace jsonb, p_job_secs double precision)
returns table (smelt_id uuid, lane text, queue_position integer, estimated_wait_seconds integer)
language sql stable as $$
    with slots as (
        select coalesce(sum(slots), 0)::integer as n from worker_heartbeat
        where seen_at > now() - interval '30 seconds'
    ), running as (
        select s.model,
               greatest(extract(epoch from now() - coalesce(s.started_at, now())), 0) as elapsed,
               greatest(extract(epoch from a.advanced_at - coalesce(s.started_at, now())), 0)
                   as to_advance,
               greatest(extract(epoch from now() - coalesce(a.advanced_at, now())), 0)
                   as since_advance,
               a.secs, a.done_secs
        from smelt s
        cross join lateral (select coalesce(sum(f.duration_seconds), 0) as secs,
                                   coalesce(sum(f.transcribed_ms), 0) / 1000.0 as done_secs,
                                   max(f.transcript_advanced_at) as advanced_at
                            from smelt_file f where f.smelt_id = s.smelt_id) a
        where s.status in ('validating', 'decoding', 'transcribing', 'synthesizing')
    ), live_pace as (
        select r.model, sum(r.to_advance) / sum(r.done_secs / 60) as pace
        from running r where r.done_secs >= 30
        group by r.model
    ), recent_pace as (
        select s.model,
               sum(extract(epoch from s.completed_at - s.started_at)) / sum(a.secs / 60) as pace
        from smelt s
        cross join lateral (select coalesce(sum(f.duration_seconds), 0) as secs from smelt_file f
                            where f.smelt_id = s.smelt_id) a
        where s.status = 'completed' and s.completed_at > now() - interval '1 hour'
          and s.started_at is not null and a.secs >= 30
        group by s.model
    ), pace as (
        select m.model,
               coalesce(l.pace, r.pace, (p_default_pace ->> m.model)::double precision, 6) as pace
        from (select jsonb_object_keys(p_default_pace) as model
              union select model from running union select model from recent_pace) m
        left join live_pace l on l.model = m.model
        left join recent_pace r on r.model = m.model
    ), busy as (
        select count(*)::integer as n,
               coalesce(sum(case
                   when r.done_secs >= 30
                       then greatest(greatest(r.secs - r.done_secs, 0) / 60 * p.pace
                                     - r.since_advance, 0)
                   else greatest(p_job_secs + r.secs / 60 * p.pace - r.elapsed, 0)
               end), 0) as left_secs
        from running r join pace p on p.model = r.model
    ), pending as (
        select s.smelt_id, s.lane,
               row_number() over (partition by s.lane order by s.created_at, s.smelt_id)::integer
                   as position,
               coalesce(sum(p_job_secs + a.secs / 60 * coalesce(p.pace, 6)) over (
                   partition by s.lane order by s.created_at, s.smelt_id
                   rows between unbounded preceding and 1 preceding), 0) as ahead_secs
        from smelt s
        cross join lateral (select coalesce(sum(f.duration_seconds), 0) as secs from smelt_file f
                            where f.smelt_id = s.smelt_id) a
        left join pace p on p.model = s.model
        where s.status = 'pending'
    )
    select p.smelt_id, p.lane, p.position,
           case
               when slots.n = 0 then null
               when p.position <= greatest(slots.n - busy.n, 0) then 0
               else ceil((busy.left_secs + p.ahead_secs) / slots.n)::integer
           end
    from pending p, slots, busy
$$;
