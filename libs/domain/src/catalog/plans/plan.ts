import type { PlanVersionContent } from './plan.events';

interface PlanVersionBase extends PlanVersionContent {
  /** 1-based, in creation order. */
  version: number;
  created_at: string;
  /** Last change of the content; equals created_at until a draft is edited. */
  updated_at: string;
}

export interface DraftPlanVersion extends PlanVersionBase {
  status: 'draft';
  published_at: null;
}

/** Immutable: no event changes it again. */
export interface PublishedPlanVersion extends PlanVersionBase {
  status: 'published';
  published_at: string;
}

export type PlanVersion = DraftPlanVersion | PublishedPlanVersion;

export interface Plan {
  key: string;
  /** In version order; never empty. At most one is a draft, and then it is the last one. */
  versions: PlanVersion[];
  created_at: string;
  /** Archived plans take no new subscriptions; existing ones continue on their locked version. */
  archived_at: string | null;
}

/** The newest published version (what a subscription gets when it names no version), if any. */
export function latestPublishedVersion(plan: Pick<Plan, 'versions'>): PublishedPlanVersion | undefined {
  for (let index = plan.versions.length - 1; index >= 0; index--) {
    const version = plan.versions[index];
    if (version.status === 'published') return version;
  }
  return undefined;
}

/** The draft being edited, if any (only one at a time). */
export function openDraft(plan: Pick<Plan, 'versions'>): DraftPlanVersion | undefined {
  const last = plan.versions[plan.versions.length - 1];
  return last?.status === 'draft' ? last : undefined;
}

export function findPlanVersion(plan: Pick<Plan, 'versions'>, version: number): PlanVersion | undefined {
  return Number.isInteger(version) && version >= 1 ? plan.versions[version - 1] : undefined;
}

/** The content members of a version (or of an event's data), without its bookkeeping. */
export function contentOf(version: PlanVersionContent): PlanVersionContent {
  const { name, currency, billing_interval, charges, minimum_commitment, entitlements } = version;
  return { name, currency, billing_interval, charges, minimum_commitment, entitlements };
}
