import { type ArgumentMetadata, Injectable, ValidationPipe } from '@nestjs/common';
import { ApiProblem } from './problems/api-problem';
import { validationErrors } from './problems/to-problem';
import { flattenValidationErrors } from './validation-errors';
import { unsafeInput } from './reserved-keys';

/**
 * Validation at the edge: unknown fields are rejected (not silently dropped) and every bad field is
 * named in the problem's `errors`. Bodies that are not JSON objects never reach class-validator.
 */
@Injectable()
export class RequestValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      // value: flattenValidationErrors tells a missing field (undefined) from a wrong one; it is never echoed.
      validationError: { target: false, value: true },
      exceptionFactory: (errors) => validationErrors(flattenValidationErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const isDto = typeof metadata.metatype === 'function' && !isBuiltIn(metadata.metatype);
    if (metadata.type === 'body' && isDto && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new ApiProblem('REQUEST.INVALID_BODY', 'the request body must be a JSON object');
    }
    // Path and query values reach SQL as they are (a NUL there is a 500); DTO bodies are checked
    // where class-transformer runs. Hand-validated bodies (usage events) answer for themselves.
    if (metadata.type === 'param' || metadata.type === 'query' || (isDto && metadata.type === 'body')) {
      const unsafe = unsafeInput(value, metadata.type === 'body' ? '' : (metadata.data ?? ''));
      if (unsafe.length > 0) throw validationErrors(unsafe);
    }
    return super.transform(value, metadata);
  }
}

function isBuiltIn(type: unknown): boolean {
  return [String, Boolean, Number, Array, Object].includes(type as never);
}
