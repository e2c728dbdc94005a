// Drives the gateway's media features with the official openai npm
// package and prints what it saw as one JSON object; node_test.go checks
// it. Usage: node media.mjs <baseURL> <apiKey> <pdf base64>
import OpenAI from "openai";

const [baseURL, apiKey, pdf] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 30000 });
const out = {};

const img = await client.images.generate({ model: "gemini-imagen", prompt: "a paper boat", response_format: "b64_json" });
out.image = { count: img.data.length, b64Length: (img.data[0].b64_json ?? "").length, pngMagic: Buffer.from(img.data[0].b64_json ?? "", "base64").subarray(1, 4).toString() };

const urlImg = await client.images.generate({ model: "gemini-imagen", prompt: "a paper plane", response_format: "url" });
out.url = urlImg.data[0].url ?? "";

const answer = await client.chat.completions.create({
  model: "gemini-2.5-pro",
  messages: [{ role: "user", content: [
    { type: "text", text: "What does this PDF say?" },
    { type: "file", file: { filename: "memo.pdf", file_data: "data:application/pdf;base64," + pdf } },
  ] }],
});
out.pdfAnswer = answer.choices[0].message.content ?? "";

try {
  await client.chat.completions.create({
    model: "gemini-2.5-pro",
    messages: [{ role: "user", content: [{ type: "file", file: { filename: "a.exe", file_data: "data:application/x-msdownload;base64,TVqQAA==" } }] }],
  });
  out.refused = null;
} catch (e) {
  out.refused = { status: e.status, code: e.code ?? e.error?.code };
}
console.log(JSON.stringify(out));
