import { isJsonObject, type FieldError } from '#domain';
import { ApiProblem } from '../common/problems/api-problem';
import { problemType, problemTypeUri } from '../common/problems/problem-catalog';
import { validationErrors } from '../common/problems/to-problem';
import { MAX_BATCH_EVENTS } from './dto/usage-batch.request';
import { USAGE_EVENT_FIELDS } from './usage-event.validation';
import type { IngestResult } from './usage-ingestion.service';
import './usage-events.problems';

export const BACKFILL_REASON_MAX_LENGTH = 500;

/**
 * The body of POST /v1/events: a JSON object whose top-level fields are all event fields (unknown
 * ones: 400, as the global pipe answers for DTOs). Checked here, not by the pipe, because the pipe's
 * class-transformer rewrites free-form objects (it drops a `constructor` key inside `properties`):
 * the event must be judged, hashed and recorded exactly as sent.
 */
export function checkEventBody(body: unknown): Record<string, unknown> {
  if (!isJsonObject(body)) throw new ApiProblem('REQUEST.INVALID_BODY', 'the request body must be a JSON object');
  const unknown = Object.keys(body).filter((key) => !(USAGE_EVENT_FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) throw validationErrors(unknown.map((field) => ({ field, message: 'unknown field' })));
  return body;
}

/**
 * The envelope of POST /v1/events/batch (`{ events }`) and /backfill (`{ reason, events }`), checked
 * here rather than by the global pipe so that the events themselves reach per-event validation:
 * unknown or malformed envelope fields are 400 like any DTO, an empty batch 422, more than 500
 * events 413.
 */
export function parseBatchEnvelope(body: unknown, withReason: boolean): { events: unknown[]; reason?: string } {
  if (!isJsonObject(body)) throw new ApiProblem('REQUEST.INVALID_BODY', 'the request body must be a JSON object');
  const allowed = withReason ? ['events', 'reason'] : ['events'];
  const errors: FieldError[] = Object.keys(body)
    .filter((key) => !allowed.includes(key))
    .map((field) => ({ field, message: 'unknown field' }));
  const events = body.events;
  if (!Array.isArray(events)) errors.unshift({ field: 'events', message: 'must be an array of events' });
  let reason: string | undefined;
  if (withReason) {
    const raw = body.reason;
    if (typeof raw !== 'string' || raw.trim() === '' || raw.length > BACKFILL_REASON_MAX_LENGTH) {
      errors.unshift({
        field: 'reason',
        message: `must be a non-blank string of at most ${BACKFILL_REASON_MAX_LENGTH} characters`,
      });
    } else {
      reason = raw.trim();
    }
  }
  if (errors.length > 0) throw validationErrors(errors);
  const list = events as unknown[];
  if (list.length === 0) throw new ApiProblem('EVENT.BATCH_EMPTY', 'send between 1 and 500 events');
  if (list.length > MAX_BATCH_EVENTS) {
    throw new ApiProblem(
      'EVENT.BATCH_TOO_LARGE',
      `${list.length} events: a batch holds at most ${MAX_BATCH_EVENTS}; split it`,
    );
  }
  return { events: list, reason };
}

/** A problem+json-like object for one event of a multi-status answer. */
export interface EventProblem {
  type: string;
  title: string;
  status: number;
  code: string;
  detail: string;
  errors: FieldError[];
  idempotency_key?: string;
  existing_id?: string;
}

export interface BatchResult {
  index: number;
  status: 202 | 409 | 422;
  id?: string;
  /** For 202: `accepted` (recorded now) or `duplicate` (recorded before with the same payload). */
  outcome?: 'accepted' | 'duplicate';
  idempotency_key?: string;
  error?: EventProblem;
}

export interface BatchResponse {
  results: BatchResult[];
  summary: { accepted: number; duplicate: number; conflict: number; invalid: number };
}

function eventProblem(code: string, detail: string, extra: Partial<EventProblem> = {}): EventProblem {
  const type = problemType(code)!;
  return { type: problemTypeUri(code), title: type.title, status: type.status, code, detail, errors: [], ...extra };
}

export function conflictDetail(key: string, existingId: string): string {
  return `idempotency key "${key}" was already used for event ${existingId} with a different payload`;
}

export function invalidDetail(errors: readonly FieldError[]): string {
  return `invalid fields: ${errors.map((e) => e.field || '(event)').join(', ')}`;
}

export function toBatchResponse(results: readonly IngestResult[]): BatchResponse {
  const summary = { accepted: 0, duplicate: 0, conflict: 0, invalid: 0 };
  const mapped = results.map((result, index): BatchResult => {
    summary[result.status] += 1;
    switch (result.status) {
      case 'accepted':
      case 'duplicate':
        return { index, status: 202, id: result.id, outcome: result.status, idempotency_key: result.idempotency_key };
      case 'conflict':
        return {
          index,
          status: 409,
          id: result.id,
          idempotency_key: result.idempotency_key,
          error: eventProblem('EVENT.IDEMPOTENCY_CONFLICT', conflictDetail(result.idempotency_key, result.id), {
            idempotency_key: result.idempotency_key,
            existing_id: result.id,
          }),
        };
      case 'invalid':
        return {
          index,
          status: 422,
          error: eventProblem('EVENT.INVALID', invalidDetail(result.errors), { errors: result.errors }),
        };
      default:
        return unreachable(result);
    }
  });
  return { results: mapped, summary };
}

function unreachable(value: never): never {
  throw new Error(`unexpected ingest result ${JSON.stringify(value)}`);
}
