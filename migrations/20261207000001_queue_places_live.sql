-- A pending smelt's place in the queue is no longer announced through the event log (each
-- dequeue used to append one event per pending smelt whose place changed): the server computes
-- the places of the smelts someone watches and pushes them live. The place last announced is
-- therefore not stored any more.
alter table smelt drop column queue_position;
