// Runtime checks of the built client (`npm test` builds it first), against a stand-in fetch.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  createTesseraClient,
  decodeAccessToken,
  idempotencyKey,
  TesseraApiError,
  unwrap,
} from "../dist/index.js";

function recordingFetch(answer) {
  const seen = [];
  const fetch = async (request) => {
    seen.push(request);
    return answer(request);
  };
  return { seen, fetch };
}

const json = (status, body, type = "application/json") =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });

test("sends the token, the idempotency key and the body to the edge's paths", async () => {
  const { seen, fetch } = recordingFetch(() => json(201, { id: "t1", points: 5 }));
  const api = createTesseraClient({ baseUrl: "http://edge.test/", token: () => "abc", fetch });
  const key = idempotencyKey();
  const made = await unwrap(
    api.POST("/api/v1/points/{user_id}/adjustments", {
      params: { path: { user_id: "m1" }, header: { "Idempotency-Key": key } },
      body: { points: 5, reason: "goodwill" },
    }),
  );
  assert.equal(made.id, "t1");
  const [request] = seen;
  assert.equal(request.url, "http://edge.test/api/v1/points/m1/adjustments");
  assert.equal(request.method, "POST");
  assert.equal(request.headers.get("Authorization"), "Bearer abc");
  assert.equal(request.headers.get("Idempotency-Key"), key);
  assert.deepEqual(await request.json(), { points: 5, reason: "goodwill" });
});

test("a problem answer throws with its title and detail", async () => {
  const problem = {
    type: "urn:tessera:problem:forbidden",
    title: "Forbidden",
    status: 403,
    detail: "your role does not allow this",
  };
  const { fetch } = recordingFetch(() => json(403, problem, "application/problem+json"));
  const api = createTesseraClient({ baseUrl: "http://edge.test", token: "t", fetch });
  await assert.rejects(unwrap(api.GET("/api/v1/admin/stats")), (error) => {
    assert.ok(error instanceof TesseraApiError);
    assert.equal(error.status, 403);
    assert.equal(error.type, problem.type);
    assert.equal(error.message, "Forbidden: your role does not allow this");
    return true;
  });
});

test("no token, no Authorization header", async () => {
  const { seen, fetch } = recordingFetch(() => json(200, { keys: [] }));
  const api = createTesseraClient({ baseUrl: "http://edge.test", fetch });
  await unwrap(api.GET("/api/v1/auth/jwks.json"));
  assert.equal(seen[0].headers.get("Authorization"), null);
});

test("idempotency keys are distinct version 4 UUIDs", () => {
  const keys = new Set(Array.from({ length: 100 }, idempotencyKey));
  assert.equal(keys.size, 100);
  for (const key of keys) {
    assert.match(key, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
});

test("decodes an access token's claims", () => {
  const payload = Buffer.from(
    JSON.stringify({ sub: "u1", kind: "user", role: "support", biz: "b1", iat: 1, exp: 2 }),
  ).toString("base64url");
  const claims = decodeAccessToken(`h.${payload}.s`);
  assert.equal(claims.role, "support");
  assert.equal(claims.biz, "b1");
});
