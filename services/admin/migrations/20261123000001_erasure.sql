-- Members who asked to be forgotten (user.erased). Their read-model rows are deleted; the id is
-- kept, with nothing else, so that events about them still in flight are dropped instead of
-- creating a new row.
CREATE TABLE erased_members (
    member_id  uuid        PRIMARY KEY,
    erased_at  timestamptz NOT NULL
);
