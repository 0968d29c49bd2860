import 'reflect-metadata';
import { Type, plainToInstance } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Max, Min, ValidateNested, validateSync } from 'class-validator';
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

class Query {
  @IsString() @Length(1, 64) customer_id!: string;
  @IsOptional() @IsInt() @Min(1) @Max(1000) limit?: number;
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

  it('a missing field is "required", once, whatever rules it has', () => {
    const errors = flattenValidationErrors(validateSync(plainToInstance(Query, {}) as object));
    expect(errors).toEqual([{ field: 'customer_id', message: 'customer_id is required' }]);
  });

  it('a value of the wrong type is told its type only, not the bounds it cannot meet', () => {
    const errors = flattenValidationErrors(
      validateSync(plainToInstance(Query, { customer_id: 'c', limit: 'abc' }) as object),
    );
    expect(errors).toEqual([{ field: 'limit', message: 'limit must be an integer number' }]);
    const bounds = flattenValidationErrors(
      validateSync(plainToInstance(Query, { customer_id: '', limit: 5000 }) as object),
    );
    expect(bounds).toEqual([
      { field: 'customer_id', message: 'customer_id must be longer than or equal to 1 characters' },
      { field: 'limit', message: 'limit must not be greater than 1000' },
    ]);
  });
});
