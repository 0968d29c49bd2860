import { Module } from '@nestjs/common';
import { AdjustmentsController } from './adjustments.controller';
import { BillingService } from './billing.service';
import { BulkInvoicesHandler } from './bulk-invoices.handler';
import { CalculateChargesHandler } from './calculate-charges.handler';
import { CloseInvoiceHandler } from './close-invoice.handler';
import { CustomerLedgerController } from './customer-ledger.controller';
import { CustomerLedgerReader } from './customer-ledger.reader';
import { DraftInvoiceHandler } from './draft-invoice.handler';
import { InvoicesController } from './invoices.controller';
import { InvoicesReader } from './invoices.reader';
import { PricingController } from './pricing.controller';
import { RecordAdjustmentHandler } from './record-adjustment.handler';
import { VoidInvoiceHandler } from './void-invoice.handler';
import './billing.problems';

/** Billing over HTTP: calculations, invoices, adjustments, customer balances and ledger. */
@Module({
  controllers: [PricingController, InvoicesController, AdjustmentsController, CustomerLedgerController],
  providers: [
    BillingService,
    InvoicesReader,
    CustomerLedgerReader,
    CalculateChargesHandler,
    DraftInvoiceHandler,
    CloseInvoiceHandler,
    VoidInvoiceHandler,
    BulkInvoicesHandler,
    RecordAdjustmentHandler,
  ],
})
export class BillingModule {}
