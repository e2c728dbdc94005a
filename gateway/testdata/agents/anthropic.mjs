// Tool calling through the gateway with the official @anthropic-ai/sdk:
// messages with tools, streamed. Run with the agents install directory as
// the working directory. Prints one JSON object for node_tools_test.go.
// Usage: node --input-type=module < anthropic.mjs, with BASE_URL and API_KEY set
import Anthropic from "@anthropic-ai/sdk";

const client = new Anthropic({ baseURL: process.env.BASE_URL, apiKey: process.env.API_KEY, maxRetries: 0, timeout: 20000 });
const stream = client.messages.stream({
  model: "claude-sonnet-4-5", max_tokens: 1024,
  tools: [{ name: "write", description: "Write a file", input_schema: { type: "object", properties: { filePath: { type: "string" }, content: { type: "string" } }, required: ["filePath", "content"] } }],
  messages: [{ role: "user", content: "create a.txt containing a" }],
});
const msg = await stream.finalMessage();
console.log(JSON.stringify({ stop: msg.stop_reason, content: msg.content }));
