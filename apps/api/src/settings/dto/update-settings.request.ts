import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { MAX_BILLING_GRACE_SECONDS } from '#domain';

/** PUT /v1/settings: the whole settings document. */
export class UpdateSettingsRequest {
  @ApiProperty({
    example: 3600,
    description:
      'Seconds the billing cycle waits after a period ends before closing its invoice (0 to 7776000; default 3600)',
  })
  @IsInt()
  @Min(0)
  @Max(MAX_BILLING_GRACE_SECONDS)
  billing_grace_seconds!: number;
}
