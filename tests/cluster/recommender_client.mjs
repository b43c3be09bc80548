#!/usr/bin/env node
// A recommender-like client of tip-scorer and tip-generator, in JavaScript as the real recommender's side is:
// it calls both InferenceService URLs with KServe V1 bodies, checks what the recommender relies on (ranked
// scores with the model version, a tip with prompt_version and selection, 400s that name the field), times
// a run of scorer calls, and reports `N passed, M failed` (exit 1 when anything failed).
//
// Node 18+ (global fetch), no packages. Usage:
//   node recommender_client.mjs --scorer http://127.0.0.1:PORT --generator http://127.0.0.1:PORT \
//        [--calls 1000] [--tips tip-0001,tip-0002,...] [--users u-1,u-2,...]
// The last line is `RESULT {json}` for programs that run it.

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => {
    if (arg.startsWith("--")) pairs.push([arg.slice(2), all[i + 1]]);
    return pairs;
  }, []),
);
if (!args.scorer || !args.generator) {
  console.error("usage: node recommender_client.mjs --scorer URL --generator URL [--calls N] [--tips a,b] [--users a,b]");
  process.exit(2);
}
const calls = Number(args.calls ?? 1000);
const tips = (args.tips ?? Array.from({ length: 20 }, (_, i) => `tip-${String(i + 1).padStart(4, "0")}`).join(","))
  .split(",");
const users = (args.users ?? "u-00001").split(",");
const SCORER = `${args.scorer}/v1/models/tip-scorer`;
const GENERATOR = `${args.generator}/v1/models/tip-generator`;

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok - ${name}`);
  } catch (err) {
    results.push({ name, ok: false, error: String(err?.message ?? err) });
    console.log(`not ok - ${name}: ${err?.message ?? err}`);
  }
}
function expect(cond, message) {
  if (!cond) throw new Error(message);
}
async function post(url, body) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // a non-JSON answer is reported by the check that reads it
  }
  return { status: res.status, json, text };
}
const profile = { tenure_days: 120, streak_days: 3, notifications_enabled: true, locale: "en-GB" };

await check("scorer model is ready (GET /v1/models/tip-scorer)", async () => {
  const res = await fetch(SCORER);
  expect(res.status === 200, `status ${res.status}`);
});

await check("scorer ranks 20 candidates, best first, with the model version", async () => {
  const { status, json, text } = await post(`${SCORER}:predict`, {
    instances: [{ user_id: users[0], request_id: "req-rank", candidates: tips, profile_features: profile }],
  });
  expect(status === 200, `status ${status}: ${text}`);
  const [prediction] = json.predictions;
  expect(prediction.request_id === "req-rank", `request_id ${prediction.request_id}`);
  expect(typeof prediction.model_version === "string" && prediction.model_version, "no model_version");
  const scores = prediction.scores;
  expect(scores.length === tips.length, `${scores.length} scores for ${tips.length} candidates`);
  expect(new Set(scores.map((s) => s.tip_id)).size === tips.length, "tip ids repeated or missing");
  expect(scores.every((s) => tips.includes(s.tip_id)), "a tip id that was not a candidate");
  expect(scores.every((s, i) => i === 0 || scores[i - 1].score >= s.score), "not sorted best first");
  expect(scores.every((s) => s.score >= 0 && s.score <= 1), "a score outside [0, 1]");
});

await check("scorer answers several instances in order", async () => {
  const instances = users.slice(0, 3).map((user_id, i) => ({ user_id, request_id: `req-${i}`, candidates: tips.slice(0, 5) }));
  const { status, json, text } = await post(`${SCORER}:predict`, { instances });
  expect(status === 200, `status ${status}: ${text}`);
  expect(json.predictions.map((p) => p.request_id).join() === instances.map((i) => i.request_id).join(), "order");
});

await check("generator writes a tip with prompt_version and selection", async () => {
  const { status, json, text } = await post(`${GENERATOR}:predict`, {
    instances: [{ user_id: users[0], request_id: "req-tip", profile_features: profile }],
  });
  expect(status === 200, `status ${status}: ${text}`);
  const [tip] = json.predictions;
  expect(typeof tip.text === "string" && tip.text.length > 0, "empty text");
  expect(typeof tip.prompt_version === "string" && tip.prompt_version, "no prompt_version");
  expect(tip.selection && ["request", "experiment", "env", "default"].includes(tip.selection.source), "no selection.source");
  expect(typeof tip.selection.propensity === "number", "no selection.propensity");
});

const badBodies = [
  ["scorer", SCORER, { instances: [{ request_id: "r", candidates: tips }] }, "user_id"],
  ["scorer", SCORER, { instances: [{ user_id: "u", request_id: "r", candidates: "tip-0001" }] }, "candidates"],
  ["scorer", SCORER, { instances: [{ user_id: "u", request_id: "r", candidates: tips, profile_features: { tenure_days: "long" } }] }, "tenure_days"],
  ["generator", GENERATOR, { instances: [{ user: "u-42" }] }, "user_id"],
  ["generator", GENERATOR, "{not json", "request format"],
];
for (const [who, url, body, field] of badBodies) {
  await check(`${who}: a bad body is a 400 naming "${field}"`, async () => {
    const { status, text } = await post(`${url}:predict`, body);
    expect(status === 400, `status ${status}: ${text}`);
    expect(text.includes(field), `the error does not name ${field}: ${text}`);
  });
}

const latencies = [];
await check(`${calls} scorer calls (20 candidates each) all answer 200`, async () => {
  let failures = 0;
  for (let i = 0; i < calls; i++) {
    const body = { instances: [{ user_id: users[i % users.length], request_id: `load-${i}`, candidates: tips, profile_features: profile }] };
    const started = process.hrtime.bigint();
    const { status } = await post(`${SCORER}:predict`, body);
    latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (status !== 200) failures++;
  }
  expect(failures === 0, `${failures} of ${calls} calls failed`);
});
const sorted = [...latencies].sort((a, b) => a - b);
const pct = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN);
const latency = { calls: sorted.length, p50_ms: pct(0.5), p99_ms: pct(0.99), max_ms: sorted.at(-1) ?? NaN };
console.log(`scorer latency over ${latency.calls} calls: p50 ${latency.p50_ms.toFixed(2)} ms, p99 ${latency.p99_ms.toFixed(2)} ms, max ${latency.max_ms.toFixed(2)} ms`);

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`${passed} passed, ${failed} failed`);
console.log(`RESULT ${JSON.stringify({ passed, failed, results, latency })}`);
process.exit(failed ? 1 : 0);
