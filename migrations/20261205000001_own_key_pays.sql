-- Who pays for a smelt is recorded when it is created: a weekly credit of its owner, its
-- anonymous address's smelt of the day, or the owner's own API key. A smelt paid by an own key
-- runs only on that key: if the key is deleted or turns invalid before a worker takes the job,
-- the smelt fails with `api_key_invalid` instead of running on the operator's account.
-- Smelts created before this had no payer recorded when the own key paid (`credit_source`
-- null); those with an owner are marked as paid by their key.
alter table smelt drop constraint smelt_credit_source_check;
alter table smelt
    add constraint smelt_credit_source_check
    check (credit_source in ('weekly', 'anonymous', 'own_key'));
update smelt set credit_source = 'own_key' where credit_source is null and user_id is not null;
