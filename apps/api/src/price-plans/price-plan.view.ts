import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  BILLING_INTERVALS,
  latestPublishedVersion,
  openDraft,
  type BillingInterval,
  type Charge,
  type Entitlements,
  type Plan,
  type PlanVersion,
} from '#domain';

/** One version of a plan as clients see it: its whole content, decimals as strings. */
export class PlanVersionView {
  @ApiProperty({ example: 1 })
  version!: number;

  @ApiProperty({ enum: ['draft', 'published'], description: 'published versions never change' })
  status!: 'draft' | 'published';

  @ApiProperty({ example: 'Pro' })
  name!: string;

  @ApiProperty({ example: 'USD' })
  currency!: string;

  @ApiProperty({ enum: BILLING_INTERVALS })
  billing_interval!: BillingInterval;

  @ApiProperty({
    type: 'array',
    items: { type: 'object', additionalProperties: true },
    description: 'normalized charges',
  })
  charges!: Charge[];

  @ApiProperty({ type: String, nullable: true, example: '100' })
  minimum_commitment!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  entitlements!: Entitlements;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ format: 'date-time', description: 'last edit of the draft' })
  updated_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  published_at!: string | null;
}

export class PlanView {
  @ApiProperty({ example: 'pro' })
  key!: string;

  @ApiProperty({ example: 'Pro', description: "the latest published version's name (the draft's before any)" })
  name!: string;

  @ApiProperty({ enum: ['active', 'archived'], description: 'archived plans take no new subscriptions' })
  status!: 'active' | 'archived';

  @ApiProperty({ example: 2 })
  latest_version!: number;

  @ApiProperty({ type: Number, nullable: true, example: 1, description: 'what a subscription gets by default' })
  published_version!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 2, description: 'the open draft (at most one)' })
  draft_version!: number | null;

  @ApiProperty({ type: [PlanVersionView] })
  versions!: PlanVersionView[];

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  archived_at!: string | null;
}

export class PlanPage {
  @ApiProperty({ type: [PlanView] })
  data!: PlanView[];

  @ApiPropertyOptional({ type: String, nullable: true })
  next_cursor!: string | null;
}

export function toPlanVersionView(version: PlanVersion): PlanVersionView {
  return {
    version: version.version,
    status: version.status,
    name: version.name,
    currency: version.currency,
    billing_interval: version.billing_interval,
    charges: version.charges,
    minimum_commitment: version.minimum_commitment,
    entitlements: version.entitlements,
    created_at: version.created_at,
    updated_at: version.updated_at,
    published_at: version.published_at,
  };
}

export function toPlanView(plan: Plan): PlanView {
  const latest = plan.versions[plan.versions.length - 1];
  return {
    key: plan.key,
    name: (latestPublishedVersion(plan) ?? latest).name,
    status: plan.archived_at === null ? 'active' : 'archived',
    latest_version: latest.version,
    published_version: latestPublishedVersion(plan)?.version ?? null,
    draft_version: openDraft(plan)?.version ?? null,
    versions: plan.versions.map(toPlanVersionView),
    created_at: plan.created_at,
    archived_at: plan.archived_at,
  };
}
