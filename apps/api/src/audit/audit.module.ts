import { Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
// The billing codes this area answers with (INVOICE.NOT_FOUND, INVOICE.NOT_CLOSED…).
import '../billing/billing.problems';

/** For auditors: invoice reproduction from the event store alone, and the audit log. */
@Module({ controllers: [AuditController] })
export class AuditModule {}
