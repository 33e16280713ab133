// Compile-time checks of the client's types (`npm run typecheck`): calls the API accepts
// compile, calls it would refuse do not.
import {
  createTesseraClient,
  decodeAccessToken,
  idempotencyKey,
  unwrap,
  type Schema,
} from "../src/index.js";

export async function examples(memberId: string): Promise<void> {
  const api = createTesseraClient({ baseUrl: "http://127.0.0.1:3000", token: () => "token" });

  const balance: Schema<"BalanceView"> = await unwrap(
    api.GET("/api/v1/points/{user_id}/balance", { params: { path: { user_id: memberId } } }),
  );
  const total: number = balance.total_points;
  void total;

  await unwrap(
    api.POST("/api/v1/points/{user_id}/adjustments", {
      params: { path: { user_id: memberId }, header: { "Idempotency-Key": idempotencyKey() } },
      body: { points: 100, reason: "goodwill" },
    }),
  );

  await api.POST("/api/v1/points/{user_id}/adjustments", {
    // @ts-expect-error the endpoint requires an Idempotency-Key
    params: { path: { user_id: memberId } },
    body: { points: 100, reason: "goodwill" },
  });

  await api.POST("/api/v1/points/{user_id}/adjustments", {
    params: { path: { user_id: memberId }, header: { "Idempotency-Key": idempotencyKey() } },
    // @ts-expect-error points is a number
    body: { points: "100", reason: "goodwill" },
  });

  // @ts-expect-error no such path
  await api.GET("/api/v1/points/nowhere");

  const { data, error } = await api.GET("/api/v1/admin/stats");
  if (error) {
    const title: string = error.title;
    void title;
  } else {
    const members: number = data.members;
    void members;
  }

  const role = decodeAccessToken("a.e30.c").role;
  void role;
}
