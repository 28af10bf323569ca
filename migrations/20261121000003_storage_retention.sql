-- Each result is also stored as a Markdown object (`results/{smelt_id}/{result_id}.md`),
-- downloadable at a short-lived signed URL. Null for results written before documents were.
alter table smelt_result add column storage_key text;

-- The retention cleanup looks for old finished anonymous smelts, and for finished smelts
-- whose uploads are still stored.
create index smelt_anonymous_created_idx on smelt (created_at) where user_id is null;
create index smelt_file_stored_idx on smelt_file (smelt_id) where storage_key is not null;
