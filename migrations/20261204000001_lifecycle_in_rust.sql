-- A smelt's status changes, event payloads and wire frames move to one place, the Rust
-- lifecycle module (core/src/lifecycle): the database keeps the tables and the read-only
-- `smelt_queue()`, and no longer writes statuses or builds events itself.
--
-- - `smelt_publish_progress` and `smelt_append_events` become single statements issued by the
--   lifecycle (core/src/db/transitions.rs, core/src/db/events.rs), whose NOTIFY carries the
--   payload as Rust encoded it;
-- - `smelt_announce_queue` (which built progress payloads with `jsonb_build_object`) becomes
--   Rust that builds them like every other progress payload;
-- - the trigger that queued webhook deliveries (and built their body in SQL) becomes part of
--   the transaction that ends a smelt.

drop trigger smelt_event_webhooks on smelt_event;
drop function smelt_enqueue_webhooks();
drop function smelt_publish_progress(uuid, text, smallint, text, uuid, jsonb, integer, text[], jsonb[]);
drop function smelt_announce_queue();
drop function smelt_append_events(uuid, text[], jsonb[]);
