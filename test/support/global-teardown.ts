import { rmSync } from 'node:fs';
import type { EmbeddedPostgresHandle } from '../../libs/platform/src/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const pg = (globalThis as Record<string, unknown>).__ABAXUS_TEST_PG__ as EmbeddedPostgresHandle | undefined;
  if (!pg) return;
  await pg.stop();
  const dir = process.env.ABAXUS_TEST_EMBEDDED_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
