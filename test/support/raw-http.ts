import { connect, type Socket } from 'node:net';

/** What a raw socket received, split at the first blank line. */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function parseRawAnswer(text: string): RawAnswer | undefined {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  return { status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(end + 4) };
}

/**
 * A client on a raw TCP socket, for what fetch cannot do: send a body slowly, lie about its length,
 * send headers by the byte. `received` accumulates everything the server sent; `closed` settles when
 * the server (or an error) ends the connection.
 */
export interface RawClient {
  socket: Socket;
  /** This end's port, kept: a closed socket forgets it. */
  localPort: number;
  received(): string;
  answer(): RawAnswer | undefined;
  closed: Promise<void>;
  /** Writes unless the connection is gone; resolves when the chunk was handed to the kernel. */
  write(chunk: string | Buffer): Promise<boolean>;
  isClosed(): boolean;
}

/** `allowHalfOpen`: keep sending after the server has closed its side, as a hostile client may. */
export async function openRawClient(baseUrl: string, options: { allowHalfOpen?: boolean } = {}): Promise<RawClient> {
  const url = new URL(baseUrl);
  const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: options.allowHalfOpen ?? false });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined); // EPIPE/ECONNRESET once the server hangs up: expected here
  const closedPromise = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  return {
    socket,
    localPort: socket.localPort!,
    received: () => text,
    answer: () => parseRawAnswer(text),
    closed: closedPromise,
    isClosed: () => closed,
    write: (chunk) =>
      new Promise((resolve) => {
        if (closed || socket.destroyed || !socket.writable) return resolve(false);
        socket.write(chunk, (error) => resolve(!error));
      }),
  };
}
