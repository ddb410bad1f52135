/**
 * Route validation with TypeBox (the same library as the event schema), strictly: unknown
 * query parameters are refused (Fastify's default Ajv setup would silently strip them, and a
 * mistyped filter would then widen a query), every fault is listed with its field and rule,
 * and integers in the query or path must be plain decimal (no `1e3`, no `0x10`, no `1.0`).
 */
import { type TSchema, TypeGuard } from '@sinclair/typebox';
import { type TypeCheck, TypeCompiler } from '@sinclair/typebox/compiler';
import { ValueErrorType } from '@sinclair/typebox/errors';
import type { FastifySchemaCompiler } from 'fastify';
import { type FieldIssue, ValidationError } from '../core/errors.ts';

/** A body schema carrying this key is documentation only: the ledger validates that body itself. */
export const LEDGER_VALIDATES = 'x-validated-by';

const RULES: Partial<Record<ValueErrorType, string>> = {
  [ValueErrorType.ObjectRequiredProperty]: 'required',
  [ValueErrorType.ObjectAdditionalProperties]: 'unknown_field',
  [ValueErrorType.String]: 'type',
  [ValueErrorType.Integer]: 'type',
  [ValueErrorType.Number]: 'type',
  [ValueErrorType.Object]: 'type',
  [ValueErrorType.StringMaxLength]: 'max_length',
  [ValueErrorType.StringMinLength]: 'min_length',
  [ValueErrorType.StringPattern]: 'format',
  [ValueErrorType.IntegerMinimum]: 'range',
  [ValueErrorType.IntegerMaximum]: 'range',
  [ValueErrorType.Union]: 'enum',
  [ValueErrorType.Literal]: 'enum',
};

const DECIMAL = /^(?:0|[1-9][0-9]{0,15})$/;

export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  if ((schema as Record<string, unknown>)[LEDGER_VALIDATES] === 'ledger') return (data) => ({ value: data });
  const check = TypeCompiler.Compile(schema);
  const coerce = httpPart === 'querystring' || httpPart === 'params';
  return (data: unknown) => {
    const value = coerce ? coerceIntegers(schema, data) : data;
    if (check.Check(value)) return { value };
    return { error: new ValidationError(issuesOf(check, value), `${httpPart ?? 'request'}: `) };
  };
};

function issuesOf(check: TypeCheck<TSchema>, value: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Set<string>();
  for (const e of check.Errors(value)) {
    const field = e.path.split('/').filter(Boolean).join('.') || '(request)';
    if (seen.has(field)) continue;
    seen.add(field);
    const rule = RULES[e.type] ?? 'invalid';
    issues.push({ field, rule, message: describe(e.type, e.message) });
  }
  return issues;
}

function describe(type: ValueErrorType, fallback: string): string {
  switch (type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return 'is not a parameter of this route';
    case ValueErrorType.ObjectRequiredProperty:
      return 'is required';
    case ValueErrorType.StringPattern:
      return 'does not have the expected format';
    case ValueErrorType.Integer:
      return 'must be a whole number written in decimal';
    default:
      return fallback.toLowerCase();
  }
}

/** Query and path values arrive as strings: decimal ones become numbers where the schema wants an integer. */
function coerceIntegers(schema: TSchema, data: unknown): unknown {
  if (!TypeGuard.IsObject(schema) || typeof data !== 'object' || data === null) return data;
  let out: Record<string, unknown> | undefined;
  for (const [k, s] of Object.entries(schema.properties)) {
    const v = (data as Record<string, unknown>)[k];
    if (!TypeGuard.IsInteger(s) || typeof v !== 'string' || !DECIMAL.test(v)) continue;
    const n = Number(v);
    if (!Number.isSafeInteger(n)) continue;
    out ??= { ...(data as Record<string, unknown>) };
    out[k] = n;
  }
  return out ?? data;
}
