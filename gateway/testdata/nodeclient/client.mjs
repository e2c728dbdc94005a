// Drives the gateway with the official openai npm package and prints what
// it saw as one JSON object; the Go test (node_test.go) checks it.
// Usage: node client.mjs <baseURL> <apiKey>
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20000 });
const out = {};

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

// Streaming with usage: collect content, reasoning, and frame facts.
const stream = await client.chat.completions.create({
  model: "gemini-2.5-pro",
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: "developer", content: "Be brief." }, { role: "user", content: [{ type: "text", text: "Write a couplet" }] }],
});
let content = "", reasoning = "", chunks = 0, finish = [], usage = null, firstRole = null;
for await (const chunk of stream) {
  chunks++;
  if (chunk.choices.length === 0) { usage = chunk.usage; continue; }
  const c = chunk.choices[0];
  if (chunks === 1) firstRole = c.delta.role ?? null;
  content += c.delta.content ?? "";
  reasoning += c.delta.reasoning_content ?? "";
  if (c.finish_reason) finish.push(c.finish_reason);
}
out.stream = { content, reasoning, chunks, finish, usage, firstRole };

const done = await client.chat.completions.create({ model: "gemini-auto", messages: [{ role: "user", content: "hi" }] });
out.complete = { content: done.choices[0].message.content, object: done.object, model: done.model, usage: done.usage };

try {
  await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
  out.error = null;
} catch (e) {
  out.error = { status: e.status, code: e.code, type: e.type, message: e.message };
}

const bad = new OpenAI({ baseURL, apiKey: "sk-wrong", maxRetries: 0 });
try {
  await bad.models.list();
  out.auth = null;
} catch (e) {
  out.auth = { status: e.status, code: e.code };
}
console.log(JSON.stringify(out));
