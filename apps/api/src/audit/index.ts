/** The audit area's plain functions (no Nest): the API's controller and the CLI call the same ones. */
export { reproduceInvoice, type InvoiceReproduction, type ReproduceInvoiceOptions } from './reproduce-invoice';
export { firstInvoiceDifference, type InvoiceDifference } from './invoice-difference';
export { ReadOnlyEventStore } from './read-only-event-store';
export {
  AUDIT_LOG_EXCLUDED_TYPES,
  AUDIT_LOG_MAX_PAGE,
  AuditLogQueryError,
  AuditLogUnavailableError,
  readAuditLog,
  type AuditLogEntry,
  type AuditLogPage,
  type AuditLogQuery,
} from './audit-log.reader';
