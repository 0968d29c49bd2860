import type { Command } from 'commander';
import { userInfo } from 'node:os';

/** Prints `value` as JSON with the global `--json` flag, otherwise the human text. */
export function print(command: Command, value: unknown, human: () => string): void {
  const json = Boolean(command.optsWithGlobals<{ json?: boolean }>().json);
  process.stdout.write(`${json ? JSON.stringify(value, null, 2) : human()}\n`);
}

/** The actor recorded on events issued from the command line. */
export function cliActor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.env.USER ?? 'unknown'}`; // no passwd entry (some containers)
  }
}
