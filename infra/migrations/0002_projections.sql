-- The projection catalog: one row per build of a projection's read model.
-- A build owns physical tables `<logical>__v<version>` (build 0) or `<logical>__v<version>_r<build>`
-- (build n > 0, a forced rebuild of the same code version); the view `<logical>` points at the live
-- build. Read models are disposable, events are not: retired builds' tables may be dropped.
CREATE TABLE projections (
  name              text        NOT NULL,
  version           integer     NOT NULL CHECK (version >= 1),
  -- 0 for the first build of a version; a forced rebuild of the same version takes max + 1.
  build             integer     NOT NULL DEFAULT 0 CHECK (build >= 0),
  status            text        NOT NULL CHECK (status IN ('building', 'live', 'retired')),
  -- Opaque event store checkpoint (null: nothing applied yet). Written in the same transaction as
  -- the read-model rows, so rows and checkpoint always agree.
  checkpoint        text,
  events_applied    bigint      NOT NULL DEFAULT 0,
  -- Logical table names of this build, so a retired build's tables can be found without its code.
  tables            text[]      NOT NULL,
  last_error        text,
  last_error_at     timestamptz,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  switched_at       timestamptz,
  tables_dropped_at timestamptz,
  PRIMARY KEY (name, version, build)
);

-- At most one build serves reads and at most one is being built, per projection.
CREATE UNIQUE INDEX projections_one_live ON projections (name) WHERE status = 'live';
CREATE UNIQUE INDEX projections_one_building ON projections (name) WHERE status = 'building';
