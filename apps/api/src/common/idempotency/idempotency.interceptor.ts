import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor, SetMetadata } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { from, lastValueFrom, type Observable } from 'rxjs';
import { canonicalJson, CanonicalJsonError } from '#domain';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import { ApiProblem } from '../problems/api-problem';
import { ReplayedResponse } from '../problems/replayed-response';
import { toProblem } from '../problems/to-problem';
import { IdempotencyStore, type ClaimRequest } from './idempotency.store';

export const SKIP_IDEMPOTENCY_KEY = 'abaxus:skip-idempotency-key';
/** For a POST that has its own idempotency (usage events carry `idempotency_key` in the body). */
export const NoIdempotencyKeyHeader = () => SetMetadata(SKIP_IDEMPOTENCY_KEY, true);
export const SHOWN_ONCE_FIELDS = 'abaxus:shown-once-fields';
/**
 * Top-level response fields that hold a secret shown once (an issued API key): the stored response
 * has them as null, so a replay answers with the same record, `null` in their place, and no secret
 * ever sits in `idempotent_requests`.
 */
export const ShownOnce = (...fields: string[]) => SetMetadata(SHOWN_ONCE_FIELDS, fields);

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;
const WAIT_FOR_DUPLICATE_MS = 10_000;
const POLL_MS = 50;
// Answers decided by the domain are part of the request's outcome and replay; rejections at the edge
// (bad input, auth, rate) and failures (5xx) do not, so fixing the request and retrying works.
const NOT_STORED = /^(REQUEST|AUTH|IDEMPOTENCY|SERVICE|INTERNAL)\./;

/**
 * `Idempotency-Key` on every POST: the first request with a key runs and its response (status +
 * body) is stored; the same key with the same request replays it; with a different request it is
 * 422 IDEMPOTENCY.KEY_REUSED. A concurrent duplicate waits for the first instead of running twice.
 * Keys are per tenant. Global; runs after the AuthGuard (it needs the caller's tenant).
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers['idempotency-key'];
    if (request.method !== 'POST' || header === undefined || !request.auth) return next.handle();
    if (this.reflector.get<boolean>(SKIP_IDEMPOTENCY_KEY, context.getHandler())) return next.handle();
    if (typeof header !== 'string' || !KEY_FORMAT.test(header)) {
      throw new ApiProblem('REQUEST.INVALID_HEADER', 'Idempotency-Key must be 1-255 visible ASCII characters', {
        errors: [{ field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' }],
      });
    }
    const path = request.routeOptions.url ?? request.url;
    const claim: ClaimRequest = {
      tenantId: request.auth.tenantId,
      key: header,
      method: request.method,
      path,
      requestHash: createHash('sha256').update(requestText(request, path)).digest('hex'),
    };
    const status = this.reflector.get<number>(HTTP_CODE_METADATA, context.getHandler()) ?? 201;
    const shownOnce = this.reflector.get<string[] | undefined>(SHOWN_ONCE_FIELDS, context.getHandler()) ?? [];
    return from(this.run(claim, { status, shownOnce }, String(request.id), next));
  }

  private async run(claim: ClaimRequest, answer: Answer, requestId: string, next: CallHandler): Promise<unknown> {
    const deadline = Date.now() + WAIT_FOR_DUPLICATE_MS;
    for (;;) {
      const outcome = await this.store.claim(claim);
      switch (outcome.kind) {
        case 'owner':
          return this.execute(claim, answer, requestId, next);
        case 'replay':
          throw new ReplayedResponse(outcome.status, outcome.body);
        case 'mismatch':
          throw new ApiProblem('IDEMPOTENCY.KEY_REUSED', 'this Idempotency-Key was used with a different request');
        case 'in_progress':
          if (Date.now() >= deadline) {
            throw new ApiProblem(
              'IDEMPOTENCY.IN_PROGRESS',
              'the first request with this key has not finished; retry later',
            );
          }
          await sleep(POLL_MS);
      }
    }
  }

  private async execute(claim: ClaimRequest, answer: Answer, requestId: string, next: CallHandler): Promise<unknown> {
    let body: unknown;
    try {
      body = await lastValueFrom(next.handle(), { defaultValue: undefined });
    } catch (error) {
      const problem = toProblem(error, requestId);
      // If this bookkeeping fails too (database gone), the lease expiry frees the key later.
      const settle = NOT_STORED.test(problem.body.code)
        ? this.store.release(claim.tenantId, claim.key)
        : this.store.complete(claim.tenantId, claim.key, problem.status, problem.body);
      await settle.catch(() => undefined);
      throw error;
    }
    await this.store.complete(claim.tenantId, claim.key, answer.status, withoutSecrets(body, answer.shownOnce));
    return body;
  }
}

interface Answer {
  status: number;
  shownOnce: string[];
}

function withoutSecrets(body: unknown, fields: string[]): unknown {
  if (fields.length === 0 || typeof body !== 'object' || body === null) return body;
  const stored: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const field of fields) if (field in stored) stored[field] = null;
  return stored;
}

/** The request as canonical JSON (RFC 8785); text that is not Unicode (a lone surrogate) has none. */
function requestText(request: AuthenticatedRequest, path: string): string {
  try {
    return canonicalJson({ method: request.method, path, params: request.params ?? {}, body: request.body ?? null });
  } catch (error) {
    if (!(error instanceof CanonicalJsonError)) throw error;
    throw new ApiProblem(
      'REQUEST.INVALID_BODY',
      `the request body is not valid Unicode JSON (${error.path || 'body'})`,
    );
  }
}
