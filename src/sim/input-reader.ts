/**
 * Small checked reader for untyped input (scenario files, admin request bodies): each
 * accessor either returns a typed value or records an issue naming the exact path, so
 * one pass reports every mistake at once instead of stopping at the first.
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One problem found in the input, with where it is. */
export interface InputIssue {
  readonly path: string;
  readonly message: string;
}

/** Thrown when input does not validate; `issues` lists every problem found. */
export class InputError extends Error {
  readonly issues: readonly InputIssue[];
  constructor(what: string, issues: readonly InputIssue[]) {
    super(`${what} is invalid:\n${issues.map((i) => `  - ${i.path || "(root)"}: ${i.message}`).join("\n")}`);
    this.name = "InputError";
    this.issues = issues;
  }
}

const describe = (value: unknown): string => {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
};

/** Collects issues while reading; `fail()` throws them all together. */
export class IssueLog {
  readonly issues: InputIssue[] = [];
  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }
  get ok(): boolean {
    return this.issues.length === 0;
  }
  /** Throws an `InputError` when any issue was recorded. */
  throwIfAny(what: string): void {
    if (this.issues.length > 0) throw new InputError(what, this.issues);
  }
}

/** A position in the input: a value plus its path, with typed accessors. */
export class Field {
  readonly value: unknown;
  readonly path: string;
  readonly log: IssueLog;

  constructor(value: unknown, path: string, log: IssueLog) {
    this.value = value;
    this.path = path;
    this.log = log;
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  /** Child field of an object; records an issue when this is not an object. */
  key(name: string): Field {
    const obj = this.value;
    const path = this.path === "" ? name : `${this.path}.${name}`;
    if (obj === undefined || obj === null || typeof obj !== "object" || Array.isArray(obj)) {
      return new Field(undefined, path, this.log);
    }
    return new Field((obj as Record<string, unknown>)[name], path, this.log);
  }

  /** Records an issue for every key not in `allowed` (catches typos in hand-written files). */
  onlyKeys(allowed: readonly string[]): void {
    if (!this.isObject()) return;
    for (const k of Object.keys(this.value as object)) {
      if (!allowed.includes(k)) {
        this.log.add(this.path === "" ? k : `${this.path}.${k}`, `unknown key (expected one of: ${allowed.join(", ")})`);
      }
    }
  }

  isObject(): boolean {
    return this.value !== null && typeof this.value === "object" && !Array.isArray(this.value);
  }

  /** Requires an object (or absent when `optional`). */
  object(optional = false): boolean {
    if (!this.present) {
      if (!optional) this.log.add(this.path, "is required");
      return false;
    }
    if (!this.isObject()) {
      this.log.add(this.path, `expected an object, got ${describe(this.value)}`);
      return false;
    }
    return true;
  }

  /** Items of a list; absent gives `[]`. */
  list(): Field[] {
    if (!this.present) return [];
    if (!Array.isArray(this.value)) {
      this.log.add(this.path, `expected a list, got ${describe(this.value)}`);
      return [];
    }
    return this.value.map((v, i) => new Field(v, `${this.path}[${i}]`, this.log));
  }

  string(fallback?: string): string {
    if (!this.present) {
      if (fallback !== undefined) return fallback;
      this.log.add(this.path, "is required");
      return "";
    }
    if (typeof this.value === "number" && Number.isFinite(this.value)) return String(this.value);
    if (typeof this.value !== "string") {
      this.log.add(this.path, `expected text, got ${describe(this.value)}`);
      return fallback ?? "";
    }
    return this.value;
  }

  optionalString(): string | undefined {
    return this.present ? this.string() : undefined;
  }

  number(fallback?: number, range?: { min?: number; max?: number; integer?: boolean }): number {
    if (!this.present) {
      if (fallback !== undefined) return fallback;
      this.log.add(this.path, "is required");
      return 0;
    }
    const v = typeof this.value === "string" && this.value.trim() !== "" ? Number(this.value) : this.value;
    if (typeof v !== "number" || !Number.isFinite(v)) {
      this.log.add(this.path, `expected a number, got ${describe(this.value)}`);
      return fallback ?? 0;
    }
    if (range?.integer === true && !Number.isInteger(v)) this.log.add(this.path, `expected a whole number, got ${v}`);
    if (range?.min !== undefined && v < range.min) this.log.add(this.path, `must be at least ${range.min}, got ${v}`);
    if (range?.max !== undefined && v > range.max) this.log.add(this.path, `must be at most ${range.max}, got ${v}`);
    return v;
  }

  optionalNumber(range?: { min?: number; max?: number; integer?: boolean }): number | undefined {
    return this.present ? this.number(undefined, range) : undefined;
  }

  boolean(fallback: boolean): boolean {
    if (!this.present) return fallback;
    if (typeof this.value !== "boolean") {
      this.log.add(this.path, `expected true or false, got ${describe(this.value)}`);
      return fallback;
    }
    return this.value;
  }

  oneOf<T extends string>(choices: readonly T[], fallback?: T): T {
    const s = this.string(fallback);
    if ((choices as readonly string[]).includes(s)) return s as T;
    if (this.present || fallback === undefined) {
      this.log.add(this.path, `expected one of ${choices.map((c) => JSON.stringify(c)).join(", ")}, got ${describe(this.value)}`);
    }
    return fallback ?? choices[0]!;
  }

  /** An instant: ISO 8601 text, a YAML timestamp or epoch milliseconds → epoch milliseconds. */
  instant(fallback?: number): number {
    if (!this.present) {
      if (fallback !== undefined) return fallback;
      this.log.add(this.path, "is required");
      return 0;
    }
    if (this.value instanceof Date) return this.value.getTime();
    if (typeof this.value === "number" && Number.isFinite(this.value)) return this.value;
    if (typeof this.value === "string") {
      const t = Date.parse(this.value);
      if (!Number.isNaN(t) && /^\d{4}-\d{2}-\d{2}/.test(this.value)) return t;
    }
    this.log.add(this.path, `expected an ISO 8601 date-time such as "2024-05-01T18:00:00Z", got ${describe(this.value)}`);
    return fallback ?? 0;
  }
}

/** Starts reading `value` as the root of an input. */
export const readInput = (value: unknown): { root: Field; log: IssueLog } => {
  const log = new IssueLog();
  return { root: new Field(value, "", log), log };
};
