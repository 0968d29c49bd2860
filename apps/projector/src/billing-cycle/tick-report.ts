/** What one tick of the billing cycle did (returned by `tick()`, logged, and counted in metrics). */
export interface TickReport {
  /** The cycle's clock at the start of the tick (RFC 3339). */
  at: string;
  /** False: another replica holds the lease, this tick did nothing. */
  lease: boolean;
  /** Why the tick did nothing although it held the lease (read models behind the log). */
  skipped: string | null;
  tenants: number;
  /** Invoices drafted for ended periods. */
  drafted: number;
  /** Drafts that already existed and were recalculated (drafted earlier by someone else). */
  refreshed: number;
  /** Invoices closed after the tenant's grace. */
  closed: number;
  /** Crashed closes completed by the sweep (completeInvoiceCloses). */
  swept: number;
  /** Closed invoices whose usage was checked again after a change (late usage). */
  checked: number;
  /** Late-usage adjustments recorded. */
  adjustments: number;
  /** Credit notes issued for pending credits no invoice will carry. */
  credit_notes: number;
  failed: TickFailure[];
}

export interface TickFailure {
  tenant_id: string;
  /** What failed: `subscription:<id>`, `invoice:<id>`, `customer:<id>`, `tenant`. */
  subject: string;
  code: string;
  detail: string;
}

export function emptyReport(at: Date, lease: boolean): TickReport {
  return {
    at: at.toISOString(),
    lease,
    skipped: null,
    tenants: 0,
    drafted: 0,
    refreshed: 0,
    closed: 0,
    swept: 0,
    checked: 0,
    adjustments: 0,
    credit_notes: 0,
    failed: [],
  };
}

/** A failure as the report keeps it: the error's stable code when it has one. */
export function failureOf(tenantId: string, subject: string, error: unknown): TickFailure {
  const code = (error as { code?: unknown } | null)?.code;
  return {
    tenant_id: tenantId,
    subject,
    code: typeof code === 'string' ? code : 'INTERNAL.ERROR',
    detail: error instanceof Error ? error.message : String(error),
  };
}
