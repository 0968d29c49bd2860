import { rmSync } from 'node:fs';
import type { EmbeddedPostgresHandle } from '../../libs/platform/src/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const handles = (globalThis as Record<string, unknown>).__ABAXUS_TEST_PG__ as EmbeddedPostgresHandle[] | undefined;
  if (!handles) return;
  await Promise.all(handles.map((pg) => pg.stop()));
  for (const dir of (process.env.ABAXUS_TEST_EMBEDDED_DIRS ?? '').split('\n')) {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
