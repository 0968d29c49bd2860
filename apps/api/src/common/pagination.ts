import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { NOT_A_CURSOR, cursorScopeError } from './cursor-scope';
import { ApiProblem } from './problems/api-problem';

export { listScope } from './cursor-scope';

export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** `?limit=&cursor=` of every list endpoint. */
export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: MAX_PAGE_SIZE, default: DEFAULT_PAGE_SIZE })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_PAGE_SIZE)
  limit?: number;

  @ApiPropertyOptional({ description: 'next_cursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

/** Cursors are opaque to clients: base64url JSON, so their content can change without breaking them. */
export function encodeCursor(position: Record<string, string>, scope: string): string {
  return Buffer.from(JSON.stringify({ ...position, q: scope }), 'utf8').toString('base64url');
}

export function invalidCursor(message: string = NOT_A_CURSOR): ApiProblem {
  return new ApiProblem('REQUEST.VALIDATION_FAILED', 'invalid fields: cursor', {
    errors: [{ field: 'cursor', message }],
  });
}

export function decodeCursor(cursor: string, fields: readonly string[], scope: string): Record<string, string> {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  if (typeof decoded !== 'object' || decoded === null) throw invalidCursor();
  const record = decoded as Record<string, unknown>;
  if (!fields.every((field) => typeof record[field] === 'string')) throw invalidCursor();
  const other = cursorScopeError(record.q, scope);
  if (other !== null) throw invalidCursor(other);
  return record as Record<string, string>;
}
