import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';
import { TENANT_NAME_MAX_LENGTH } from '#domain';

export class CreateTenantRequest {
  @ApiProperty({ maxLength: TENANT_NAME_MAX_LENGTH, example: 'Acme Inc.' })
  @IsString()
  @MaxLength(TENANT_NAME_MAX_LENGTH)
  @Matches(/\S/, { message: 'name must not be blank' })
  name!: string;
}
