/** The JSON error shape of the REST API and the mapping from zod issues to it. */
import type { Response } from 'express';
import type { z } from 'zod';

export interface ApiErrorBody {
  error: { code: string; message: string; field: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, field: this.field } };
  }
}

export function sendError(res: Response, err: ApiError): void {
  res.status(err.status).json(err.body());
}

type Issue = z.core.$ZodIssue;

/** The value at `path` in the client's input, through own properties only (`constructor` is not a field). */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function has(root: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return root !== undefined;
  const parent = valueAt(root, path.slice(0, -1));
  return parent !== null && typeof parent === 'object' && Object.hasOwn(parent, path[path.length - 1]);
}

/** Dotted field path (`services.0.port`); null for the body itself. */
export function fieldOf(path: readonly PropertyKey[]): string | null {
  return path.length === 0 ? null : path.map(String).join('.');
}

/** Turns the first zod issue into a 400 ApiError naming the field. */
export function fromZodIssue(issue: Issue, input: unknown, fieldPrefix = ''): ApiError {
  let path: PropertyKey[] = [...issue.path];
  let code: string;
  let message = issue.message;
  switch (issue.code) {
    case 'invalid_type':
      if (!has(input, path)) {
        code = 'missing_field';
        message = 'is required';
      } else {
        code = 'invalid_type';
        message = `expected ${issue.expected}`;
      }
      break;
    case 'too_small':
    case 'too_big': {
      const origin = issue.origin;
      // `inclusive: false` comes from positive()/gt()/lt(): "must be > 0", not ">= 0".
      const strict = issue.inclusive === false;
      const bound = issue.code === 'too_small' ? `${strict ? '>' : '>='} ${issue.minimum}` : `${strict ? '<' : '<='} ${issue.maximum}`;
      if (origin === 'number' || origin === 'int' || origin === 'bigint') {
        code = 'out_of_range';
        message = `must be ${bound}`;
      } else if (origin === 'array' || origin === 'set') {
        code = issue.code === 'too_small' ? 'too_few_items' : 'too_many_items';
        message = `must have ${bound} items`;
      } else {
        code = 'invalid_length';
        message = `length must be ${bound}`;
      }
      break;
    }
    case 'unrecognized_keys':
      code = 'unknown_field';
      path = [...path, issue.keys[0]];
      message = 'is not a known field';
      break;
    case 'invalid_key':
      code = 'invalid_format';
      message = 'key ' + (issue.issues[0]?.message ?? 'is invalid');
      break;
    case 'invalid_value':
      code = 'invalid_value';
      message = `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
      break;
    case 'invalid_union':
      code = 'invalid_type';
      break;
    case 'custom': {
      const params = (issue.params ?? {}) as { code?: string };
      code = params.code ?? 'invalid_format';
      break;
    }
    case 'invalid_format':
      code = 'invalid_format';
      break;
    default:
      code = 'invalid_value';
  }
  const field = fieldOf(path);
  const fullField = field === null ? fieldPrefix || null : fieldPrefix ? `${fieldPrefix}.${field}` : field;
  return new ApiError(400, code, fullField ? `${fullField}: ${message}` : `body: ${message}`, fullField);
}

/** Parses `input` with `schema`; throws a 400 ApiError naming the first bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, fieldPrefix = ''): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw fromZodIssue(r.error.issues[0], input, fieldPrefix);
}
