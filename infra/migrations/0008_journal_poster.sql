-- How far the journal poster (libs/ledger/src/journal/journal-poster.ts) has read the log: every
-- billing fact before this checkpoint has its journal entry posted. Posting is idempotent (entry ids
-- derive from the facts), so a lost or stale checkpoint only means posting some entries again.
CREATE TABLE journal_poster_checkpoints (
  name        text        PRIMARY KEY,
  checkpoint  text,
  posted      bigint      NOT NULL DEFAULT 0,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
