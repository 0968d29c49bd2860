import { hash, randomInt } from 'node:crypto';
import type { ApiKeyKind } from '#domain';

/** What a presented bearer token must look like before we bother hashing it. */
export const API_KEY_FORMAT = /^(sk|pk)_[A-Za-z0-9_]{24,128}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const SECRET_LENGTH = 40; // ~238 bits
export const KEY_PREFIX_LENGTH = 10;

function randomText(length: number): string {
  let text = '';
  // randomInt is uniform (rejection sampling), unlike bytes modulo 62.
  for (let i = 0; i < length; i++) text += ALPHABET[randomInt(ALPHABET.length)];
  return text;
}

export function generateApiKey(kind: ApiKeyKind): string {
  return `${kind === 'secret' ? 'sk' : 'pk'}_${randomText(SECRET_LENGTH)}`;
}

export function newKeyId(): string {
  return `key_${randomText(20)}`;
}

/** One-shot `crypto.hash` (UTF-8 in, hex out): ~4x cheaper than a Hash object, on every request. */
export function sha256Hex(key: string): string {
  return hash('sha256', key);
}

/** What lists show: enough to recognise a key, far too little to use it. */
export function keyPrefix(key: string): string {
  return key.slice(0, KEY_PREFIX_LENGTH);
}

export function kindOfKey(key: string): ApiKeyKind {
  return key.startsWith('pk_') ? 'publishable' : 'secret';
}
