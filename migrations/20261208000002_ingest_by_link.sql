-- A recording given by link instead of uploaded: the link as the user sent it. Such a file
-- has no upload until the worker downloads it into the blob store (`storage_key` null until
-- then), and its size and duration are unknown until then (`size_bytes` 0,
-- `duration_seconds` null). A file with a link and a key has been downloaded: a redelivered
-- job does not fetch it again.
alter table smelt_file
    add column source_url text,
    add constraint smelt_file_source_url_check
        check (source_url is null or input_type = 'audio');
