import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PAYMENT_PROVIDERS, type Customer, type CustomerMetadata, type PaymentProvider } from '#domain';

export class PaymentDetailsView {
  @ApiProperty({ enum: PAYMENT_PROVIDERS })
  provider!: PaymentProvider;

  @ApiProperty({ type: String, nullable: true, example: 'cus_N4x…' })
  customer_ref!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'pm_1Q…' })
  payment_method_ref!: string | null;
}

export class CustomerView {
  @ApiProperty({ example: 'cust_acme' })
  id!: string;

  @ApiProperty({ example: 'Acme Inc.' })
  name!: string;

  @ApiProperty({ type: String, nullable: true, example: 'billing@acme.com' })
  email!: string | null;

  @ApiProperty({ example: 'USD', description: 'ISO 4217; fixed once created' })
  currency!: string;

  @ApiProperty({ example: 'America/New_York', description: 'IANA zone of the billing periods; fixed once created' })
  timezone!: string;

  @ApiProperty({ type: PaymentDetailsView, nullable: true })
  payment!: PaymentDetailsView | null;

  @ApiProperty({ type: 'object', additionalProperties: true, example: { crm_id: '0012' } })
  metadata!: CustomerMetadata;

  @ApiProperty({ format: 'date-time' })
  created_at!: string;

  @ApiProperty({ format: 'date-time' })
  updated_at!: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  archived_at!: string | null;
}

export class CustomerPage {
  @ApiProperty({ type: [CustomerView] })
  data!: CustomerView[];

  @ApiPropertyOptional({ type: String, nullable: true })
  next_cursor!: string | null;
}

export function toCustomerView(customer: Customer): CustomerView {
  return {
    id: customer.id,
    name: customer.name,
    email: customer.email,
    currency: customer.currency,
    timezone: customer.timezone,
    payment: customer.payment,
    metadata: customer.metadata,
    created_at: customer.created_at,
    updated_at: customer.updated_at,
    archived_at: customer.archived_at,
  };
}
