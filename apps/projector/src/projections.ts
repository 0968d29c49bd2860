import type { Projection } from '#ledger';

/**
 * Every projection the projector runs. Each area adds its own here
 * (`apps/projector/src/<area>/<name>.projection.ts`).
 */
export const projections: Projection[] = [];
