import { problemType } from './problem-catalog';

export interface FieldError {
  /** Dotted path for nested fields (`address.city`, `lines.0.amount`); the header name for headers. */
  field: string;
  message: string;
}

/** The RFC 9457 body every 4xx/5xx of the API carries (`application/problem+json`). */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

/** An error raised by the API layer itself (guards, pipes, interceptors) with a catalogued code. */
export class ApiProblem extends Error {
  readonly status: number;
  constructor(
    readonly code: string,
    detail: string,
    readonly extras: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      /** Extension members added to the body (`checks` on /readyz). */
      members?: Record<string, unknown>;
    } = {},
  ) {
    super(detail);
    this.name = 'ApiProblem';
    const type = problemType(code);
    if (!type) throw new Error(`problem code ${code} is not in the catalog`);
    this.status = type.status;
  }
}
