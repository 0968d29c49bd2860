import { deterministicUuid } from './deterministic-id';

describe('deterministicUuid', () => {
  it('is a stable RFC 9562 version-8 UUID per name', () => {
    const id = deterministicUuid('default:apikeys/ApiKeyIssued/key_1');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicUuid('default:apikeys/ApiKeyIssued/key_1')).toBe(id);
    expect(deterministicUuid('default:apikeys/ApiKeyIssued/key_2')).not.toBe(id);
  });
});
