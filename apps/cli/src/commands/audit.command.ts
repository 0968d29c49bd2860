import { randomUUID } from 'node:crypto';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { loadConfig } from '#platform';
import {
  AuditLogQueryError,
  AuditLogUnavailableError,
  readAuditLog,
  reproduceInvoice,
  type AuditLogPage,
  type BillingContext,
  type InvoiceReproduction,
} from '../../../api/src';
import { cliActor, print } from '../output';
import { openRuntime, type Runtime } from '../runtime';

/** Below this many events a reproduction is quick: no progress bar. */
const PROGRESS_BAR_FROM_EVENTS = 10_000;
/**
 * How long a calculation waits for the projector to reach the log head. Longer than a request's: no
 * client holds a connection open, and an operator would rather wait than retry.
 */
const CLI_BARRIER_MS = 30_000;
/** A reproduction that ran but does not match exits with this code (1 is an error). */
export const MISMATCH_EXIT_CODE = 2;

/** A refusal with a stable code (domain and API codes: `INVOICE.NOT_CLOSED`, `EVENT.NOT_FOUND`). */
export class CliRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly errors: ReadonlyArray<{ field: string; message: string }> = [],
  ) {
    super(message);
    this.name = 'CliRefusal';
  }
}

interface CodedError {
  code: string;
  message: string;
  errors?: ReadonlyArray<{ field: string; message: string }>;
}

function isCoded(error: unknown): error is CodedError {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^[A-Z_]+\.[A-Z_]+$/.test(code);
}

/**
 * Runs a command's body with a runtime (closed after). A refusal with a stable code (`INVOICE.NOT_CLOSED`)
 * is printed as `abaxus: CODE: message` with each field at fault, and exits 1; anything else is a crash
 * (main prints its stack). `migrate: false` for read-only commands: an audit never changes the schema.
 */
export async function withRuntime(migrate: boolean, body: (runtime: Runtime) => Promise<void>): Promise<void> {
  const runtime = await openRuntime(loadConfig(), { name: 'cli', migrate });
  try {
    await body(runtime);
  } catch (error) {
    if (!isCoded(error)) throw error;
    const fields = (error.errors ?? []).map((e) => `\n  ${e.field}: ${e.message}`).join('');
    process.stderr.write(`abaxus: ${error.code}: ${error.message}${fields}\n`);
    process.exitCode = 1;
  } finally {
    await runtime.close();
  }
}

/** The billing operations' context for a command-line run: the CLI user is the actor, one request id per run. */
export function cliBillingContext(runtime: Runtime, tenantId: string): BillingContext {
  return {
    pool: runtime.pool,
    store: runtime.store,
    tenantId,
    actor: cliActor(),
    requestId: `cli-${randomUUID()}`,
    barrierMs: CLI_BARRIER_MS,
  };
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('for auditors: reproduce invoices from the log, the audit log');
  audit
    .command('reproduce <invoice-id>')
    .description(
      'rebuild a closed invoice from the event store alone (no read model) and compare checksums; ' +
        `exits ${MISMATCH_EXIT_CODE} when it does not match`,
    )
    .requiredOption('--tenant <id>', 'tenant id')
    .action(async (invoiceId: string, options: { tenant: string }, command: Command) => {
      await withRuntime(false, async (runtime) => {
        const started = performance.now();
        const reproduction = await withProgressBar(command, (onProgress) =>
          reproduceInvoice({ store: runtime.store, tenantId: options.tenant, invoiceId, onProgress }),
        );
        const result = { ...reproduction, ...figuresOf(reproduction.events_read, performance.now() - started) };
        print(command, result, () => describeReproduction(result));
        if (!result.match) process.exitCode = MISMATCH_EXIT_CODE;
      });
    });
  audit
    .command('log')
    .description('who did what, when (the audit_log projection; usage events are not in it), newest first')
    .requiredOption('--since <instant>', 'recorded at or after (RFC 3339)')
    .option('--until <instant>', 'recorded before (RFC 3339)')
    .option('--actor <actor>', 'an API key id, cli:<user> or system:<component>')
    .option('--type <types>', 'event types, comma-separated')
    .option('--stream <stream>', 'a stream, with or without the tenant prefix')
    .option('--tenant <id>', 'one tenant (default: every tenant)')
    .option('--limit <n>', 'entries per page (at most 500)', '100')
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .action(async (options: AuditLogOptions, command: Command) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new Error('--limit must be an integer 1-500');
      await withRuntime(false, async (runtime) => {
        const page = await readAuditLog(runtime.pool, {
          tenantId: options.tenant,
          since: options.since,
          until: options.until,
          actor: options.actor,
          types: options.type?.split(',').map((type) => type.trim()),
          stream: options.stream,
          limit,
          cursor: options.cursor,
        }).catch((error: unknown) => {
          if (error instanceof AuditLogQueryError) {
            throw new CliRefusal('REQUEST.VALIDATION_FAILED', error.message, error.errors);
          }
          if (error instanceof AuditLogUnavailableError) throw new CliRefusal('SERVICE.UNAVAILABLE', error.message);
          throw error;
        });
        print(command, page, () => describeAuditLog(page));
      });
    });
}

interface AuditLogOptions {
  since: string;
  until?: string;
  actor?: string;
  type?: string;
  stream?: string;
  tenant?: string;
  limit: string;
  cursor?: string;
}

/** A progress bar on stderr for long reads, on a terminal only: scripts (--json, pipes) get clean output. */
async function withProgressBar<T>(
  command: Command,
  run: (onProgress: (read: number, expected: number) => void) => Promise<T>,
): Promise<T> {
  const interactive = Boolean(process.stderr.isTTY) && !command.optsWithGlobals<{ json?: boolean }>().json;
  const bar = new SingleBar(
    { format: 'replaying the log [{bar}] {value}/{total} events', stream: process.stderr },
    Presets.shades_classic,
  );
  let started = false;
  try {
    return await run((read, expected) => {
      if (!interactive || expected < PROGRESS_BAR_FROM_EVENTS) return;
      if (!started) bar.start(expected, read);
      started = true;
      bar.setTotal(expected);
      bar.update(read);
    });
  } finally {
    if (started) bar.stop();
  }
}

/** How long the replay took, for the operator (the API's answer does not carry timings). */
interface ReproductionFigures {
  duration_ms: number;
  events_per_second: number;
}

function figuresOf(eventsRead: number, elapsedMs: number): ReproductionFigures {
  const duration = Math.max(1, Math.round(elapsedMs));
  return { duration_ms: duration, events_per_second: Math.round((eventsRead * 1000) / duration) };
}

function describeReproduction(result: InvoiceReproduction & ReproductionFigures): string {
  const took = `in ${(result.duration_ms / 1000).toFixed(2)} s (${result.events_per_second} events/s)`;
  const head = `${result.number} (${result.invoice_id}, ${result.status}): ${result.match ? 'MATCH' : 'MISMATCH'} after ${result.events_read} events ${took}`;
  const sums = `  recorded   ${result.checksum}\n  recomputed ${result.recomputed_checksum ?? '-'}`;
  const difference = result.first_difference;
  if (difference === null) return `${head}\n${sums}`;
  const where =
    difference.charge_key === null ? difference.field : `line ${difference.charge_key}, ${difference.field}`;
  return (
    `${head}\n${sums}\n  first difference: ${where}: recorded ${JSON.stringify(difference.recorded)}, ` +
    `recomputed ${JSON.stringify(difference.recomputed)}${difference.detail ? ` (${difference.detail})` : ''}`
  );
}

function describeAuditLog(page: AuditLogPage): string {
  const lines = page.data.map(
    (e) =>
      `${e.recorded_at}  ${e.tenant_id}  ${e.type}  ${e.actor}  ${e.stream}${e.request_id ? `  ${e.request_id}` : ''}`,
  );
  if (lines.length === 0) lines.push('no entries');
  if (page.next_cursor) lines.push(`more: --cursor ${page.next_cursor}`);
  return lines.join('\n');
}
