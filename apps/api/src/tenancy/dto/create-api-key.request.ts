import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { API_KEY_KINDS, API_KEY_NAME_MAX_LENGTH, API_KEY_ROLES, type ApiKeyKind, type ApiKeyRole } from '#domain';

export class CreateApiKeyRequest {
  @ApiPropertyOptional({ maxLength: API_KEY_NAME_MAX_LENGTH, example: 'billing backend' })
  @IsOptional()
  @IsString()
  @MaxLength(API_KEY_NAME_MAX_LENGTH)
  name?: string;

  @ApiProperty({ enum: API_KEY_ROLES })
  @IsIn(API_KEY_ROLES)
  role!: ApiKeyRole;

  @ApiProperty({ enum: API_KEY_KINDS, description: 'publishable keys (pk_) may only read entitlements and usage' })
  @IsIn(API_KEY_KINDS)
  kind!: ApiKeyKind;
}
