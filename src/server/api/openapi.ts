import type { ApiRoute } from "./routes.js";
import { EventSchemas, type JsonSchema } from "./schemas.js";

/**
 * The OpenAPI 3.1 document of the HTTP API, made from the route table and its JSON schemas
 * (the ones Fastify validates with), served at /api/v1/openapi.json.
 */
export function openApiDocument(routes: readonly ApiRoute[], version: string): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z_]+)/g, "{$1}");
    const parameters = [...parametersOf(r.params, "path"), ...parametersOf(r.query, "query")];
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(r.responses)) {
      const ok = status === "200";
      const media = ok && r.produces !== undefined ? r.produces : [];
      const content: Record<string, unknown> = {};
      if (!(ok && media.includes("text/event-stream"))) content["application/json"] = { schema };
      for (const m of media) content[m] = { schema: { type: "string" } };
      responses[status] = { description: descriptionOf(status, schema), content };
    }
    const item = paths[path] ?? {};
    paths[path] = item;
    item[r.method.toLowerCase()] = {
      summary: r.summary,
      operationId: operationId(r),
      ...(r.scope === "public" ? { security: [] } : { security: [{ bearer: [] }] }),
      ...(r.scope === "public" ? {} : { "x-scope": r.scope }),
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(r.body === undefined
        ? {}
        : { requestBody: { required: false, content: { "application/json": { schema: r.body } } } }),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "itb HTTP API",
      version,
      description:
        "The trading service's API (itb serve) and its research view (itb ui). Bearer tokens: read (every GET) and control (also every POST). See docs/api.md.",
    },
    servers: [{ url: "/" }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      // the data of each event of GET /api/v1/events, by event name
      schemas: Object.fromEntries(
        Object.entries(EventSchemas).map(([name, schema]) => [`${name}_event`, schema]),
      ),
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function parametersOf(schema: JsonSchema | undefined, where: "path" | "query"): object[] {
  if (schema === undefined) return [];
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s as { description?: string };
    return {
      name,
      in: where,
      required: where === "path" || required.has(name),
      schema: rest,
      ...(description === undefined ? {} : { description }),
    };
  });
}

function descriptionOf(status: string, schema: JsonSchema): string {
  if (typeof schema.description === "string") return schema.description;
  const texts: Record<string, string> = {
    "200": "OK",
    "400": "A wrong parameter or body",
    "401": "No token, or an unknown one (WWW-Authenticate: Bearer)",
    "403": "A read token on a control endpoint",
    "404": "No such market, model or result",
    "409": "Nothing took the request (or no service runs: itb ui)",
    "429": "Too many failed attempts from this address",
  };
  return texts[status] ?? "Error";
}

function operationId(r: ApiRoute): string {
  const words = r.url
    .replace(/^\/api\/v1\//, "")
    .split("/")
    .map((w) => (w.startsWith(":") ? `by_${w.slice(1)}` : w.replace(/\.json$/, "")));
  return `${r.method.toLowerCase()}_${words.join("_")}`;
}
