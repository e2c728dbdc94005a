// Tool calling through the gateway with the official openai npm package:
// chat completions with tools (streamed) and responses.create (streamed).
// Prints one JSON object for node_tools_test.go.
// Usage: node tools.mjs <baseURL> <apiKey>
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 20000 });
const out = {};
const write = {
  type: "function",
  function: {
    name: "write", description: "Write a file",
    parameters: { type: "object", properties: { filePath: { type: "string" }, content: { type: "string" } }, required: ["filePath", "content"] },
  },
};

const stream = await client.chat.completions.create({
  model: "gemini-2.5-pro", stream: true, tools: [write],
  messages: [{ role: "user", content: "create n.txt containing n" }],
});
const calls = [];
let finish = null;
for await (const chunk of stream) {
  const c = chunk.choices[0];
  if (!c) continue;
  for (const tc of c.delta.tool_calls ?? []) {
    calls[tc.index] ??= { id: tc.id, name: "", arguments: "" };
    calls[tc.index].name += tc.function?.name ?? "";
    calls[tc.index].arguments += tc.function?.arguments ?? "";
  }
  if (c.finish_reason) finish = c.finish_reason;
}
out.chat = { calls, finish };

const rs = await client.responses.create({
  model: "gemini-2.5-pro", stream: true, input: "create r.txt containing r",
  tools: [{ type: "function", name: "write", parameters: write.function.parameters }],
});
const events = [];
let completed = null;
for await (const ev of rs) {
  events.push(ev.type);
  if (ev.type === "response.completed") completed = ev.response;
}
out.responses = { events, output: completed?.output ?? null, id: completed?.id ?? null };
console.log(JSON.stringify(out));
