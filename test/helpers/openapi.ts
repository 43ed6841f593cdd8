import { Validator } from "@seriousme/openapi-schema-validator";
import { Ajv } from "ajv";
import { expect } from "vitest";

/**
 * The API's OpenAPI document as a test oracle: `lint` checks the document against the
 * OpenAPI 3.1 schema, `check` a real answer against what the document says the operation
 * answers with that status (ajv), `checkEvent` an event's data against its schema.
 */
export interface OpenApiOracle {
  doc: OpenApiDoc;
  /** Validates `body` as the answer of `method path` (the document's path, e.g. /api/v1/markets/{id}) with `status`. */
  check(method: string, path: string, status: number, body: unknown): void;
  checkEvent(name: string, data: unknown): void;
  /** Every operation of the document, "GET /api/v1/markets/{id}". */
  operations(): string[];
}

interface OpenApiDoc {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: { schemas: Record<string, object> };
}

export async function lintOpenApi(doc: unknown): Promise<void> {
  const v = new Validator();
  const r = await v.validate(doc as Record<string, unknown>);
  expect(r.errors ?? [], JSON.stringify(r.errors, null, 2)).toEqual([]);
  expect(r.valid).toBe(true);
  expect(v.version).toBe("3.1");
}

export function oracle(doc: unknown): OpenApiOracle {
  const d = doc as OpenApiDoc;
  const ajv = new Ajv({ strict: false, allErrors: true });
  const compiled = new Map<object, ReturnType<Ajv["compile"]>>();
  const validate = (schema: object, value: unknown, what: string) => {
    let f = compiled.get(schema);
    if (f === undefined) {
      f = ajv.compile(schema);
      compiled.set(schema, f);
    }
    const ok = f(value);
    expect(ok, `${what}: ${ajv.errorsText(f.errors)}\n${JSON.stringify(value).slice(0, 2000)}`).toBe(true);
  };
  return {
    doc: d,
    check(method, path, status, body) {
      const op = d.paths[path]?.[method.toLowerCase()];
      expect(op, `${method} ${path} is in the document`).toBeDefined();
      const res = op?.responses[String(status)];
      expect(res, `${method} ${path} documents status ${status}`).toBeDefined();
      const schema = res?.content?.["application/json"]?.schema;
      expect(schema, `${method} ${path} ${status} has a JSON schema`).toBeDefined();
      validate(schema as object, body, `${method} ${path} ${status}`);
    },
    checkEvent(name, data) {
      const schema = d.components.schemas[`${name}_event`];
      expect(schema, `event ${name} is documented`).toBeDefined();
      validate(schema as object, data, `event ${name}`);
    },
    operations() {
      return Object.entries(d.paths).flatMap(([p, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
      );
    },
  };
}

/** The events of a text/event-stream body read so far: name and parsed data. */
export function parseEvents(text: string): { name: string; data: unknown }[] {
  const out: { name: string; data: unknown }[] = [];
  for (const block of text.split("\n\n")) {
    let name = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event: ")) name = line.slice(7);
      else if (line.startsWith("data: ")) data.push(line.slice(6));
    }
    if (data.length > 0) out.push({ name, data: JSON.parse(data.join("\n")) });
  }
  return out;
}
