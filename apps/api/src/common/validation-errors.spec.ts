import 'reflect-metadata';
import { Type, plainToInstance } from 'class-transformer';
import { IsInt, IsString, ValidateNested, validateSync } from 'class-validator';
import { flattenValidationErrors } from './validation-errors';

class Line {
  @IsInt() quantity!: number;
}
class Address {
  @IsString() city!: string;
}
class Order {
  @IsString() name!: string;
  @ValidateNested() @Type(() => Address) address!: Address;
  @ValidateNested({ each: true }) @Type(() => Line) lines!: Line[];
}

function errorsFor(body: unknown) {
  const instance = plainToInstance(Order, body);
  return flattenValidationErrors(validateSync(instance as object, { whitelist: true, forbidNonWhitelisted: true }));
}

describe('flattenValidationErrors', () => {
  it('names nested fields as dotted paths, array items by index', () => {
    const errors = errorsFor({ name: 'n', address: { city: 3 }, lines: [{ quantity: 1 }, { quantity: 'x' }] });
    expect(errors.map((e) => e.field)).toEqual(['address.city', 'lines.1.quantity']);
  });

  it('reports unknown fields, nested ones too, as "unknown field"', () => {
    const errors = errorsFor({ name: 'n', colour: 'red', address: { city: 'c', zip: '1' }, lines: [] });
    expect(errors).toEqual([
      { field: 'colour', message: 'unknown field' },
      { field: 'address.zip', message: 'unknown field' },
    ]);
  });
});
