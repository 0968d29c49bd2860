/**
 * One validation problem, named by its path in the request (`charges[1].tiers[2].up_to`).
 * Validators return lists of these; `apps/api` renders them as problem+json `errors`.
 */
export interface FieldError {
  field: string;
  message: string;
}

/** Joins a path prefix and a member: `join('charges[1]', 'tiers')` is `charges[1].tiers`. */
export function fieldPath(prefix: string | undefined, member: string): string {
  if (!prefix) return member;
  return member.startsWith('[') ? `${prefix}${member}` : `${prefix}.${member}`;
}
