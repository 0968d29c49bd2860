import { registerProblemTypes } from '../common/problems/problem-catalog';

/** HTTP meaning of the usage ingestion codes (apps/api/README.md, "Usage events"). */
registerProblemTypes({
  'EVENT.INVALID': { status: 422, title: 'The usage event is not valid' },
  'EVENT.IDEMPOTENCY_CONFLICT': {
    status: 409,
    title: 'This idempotency key was already used for a different event',
  },
  'EVENT.BATCH_EMPTY': { status: 422, title: 'The batch holds no events' },
  'EVENT.BATCH_TOO_LARGE': { status: 413, title: 'The batch holds too many events' },
  'EVENT.NOT_FOUND': { status: 404, title: 'No such usage event' },
  'EVENT.INGESTION_OVERLOADED': { status: 503, title: 'Too many usage events are waiting to be written' },
  'EVENT.INGESTION_CLOSED': { status: 503, title: 'The API is shutting down' },
});
