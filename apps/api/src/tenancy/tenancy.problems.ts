import { registerProblemTypes } from '../common/problems/problem-catalog';

/** HTTP meaning of the tenancy domain's error codes (libs/domain/src/tenancy/tenancy.errors.ts). */
registerProblemTypes({
  'TENANT.NAME_TAKEN': { status: 409, title: 'A tenant with this name already exists' },
  'TENANT.ID_TAKEN': { status: 409, title: 'This tenant id is already used' },
  'TENANT.INVALID_NAME': { status: 422, title: 'The tenant name is not valid' },
  'TENANT.INVALID_ID': { status: 422, title: 'The tenant id is not valid' },
  'TENANT.NOT_FOUND': { status: 404, title: 'No such tenant' },
  'API_KEY.NOT_FOUND': { status: 404, title: 'No such API key' },
  'API_KEY.ALREADY_EXISTS': { status: 409, title: 'An API key with this id already exists' },
  'API_KEY.INVALID': { status: 422, title: 'The API key request is not valid' },
});
