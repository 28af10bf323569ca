-- A delivery per terminal event rather than per smelt: a smelt requeued from the dead-letter
-- queue after failing ends a second time, and its owner hears of that ending too.
alter table webhook_delivery add column seq bigint;
alter table webhook_delivery drop constraint webhook_delivery_once;
alter table webhook_delivery
    add constraint webhook_delivery_once unique nulls not distinct (webhook_id, smelt_id, seq);

-- Deliveries go with their smelt (deleted by its owner or by retention).
delete from webhook_delivery d where not exists (select 1 from smelt s where s.smelt_id = d.smelt_id);
alter table webhook_delivery
    add constraint webhook_delivery_smelt_fk foreign key (smelt_id)
        references smelt (smelt_id) on delete cascade;
create index webhook_delivery_smelt_idx on webhook_delivery (smelt_id);
-- Retention deletes finished deliveries by age.
create index webhook_delivery_finished_idx on webhook_delivery (created_at) where status <> 'pending';

-- Secrets sealed since now are bound to their row's id (AES-GCM associated data): copied into
-- another row they no longer open. Rows sealed before open as they always did.
alter table user_profile add column api_key_bound boolean not null default false;
alter table webhook add column secret_bound boolean not null default false;
