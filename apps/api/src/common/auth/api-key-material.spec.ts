import { createHash } from 'node:crypto';
import { API_KEY_FORMAT, generateApiKey, keyPrefix, sha256Hex } from './api-key-material';

describe('API key material', () => {
  it('sha256Hex is the SHA-256 of the UTF-8 text in hex (stored digests and bootstrap ids depend on it)', () => {
    for (const text of ['sk_' + 'a'.repeat(40), 'bootstrap:abc', 'ünïcødé ✓ 𝄞', '']) {
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    }
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('generates keys of the accepted format, secret and publishable, with a short prefix', () => {
    const secret = generateApiKey('secret');
    const publishable = generateApiKey('publishable');
    expect(secret).toMatch(/^sk_[A-Za-z0-9]{40}$/);
    expect(publishable).toMatch(/^pk_[A-Za-z0-9]{40}$/);
    expect(API_KEY_FORMAT.test(secret) && API_KEY_FORMAT.test(publishable)).toBe(true);
    expect(keyPrefix(secret)).toBe(secret.slice(0, 10));
    expect(generateApiKey('secret')).not.toBe(secret);
  });
});
