// The Vercel AI SDK's own telemetry (`experimental_telemetry`), the `ai.*` dialect Mastra emits too,
// for tests/fixtures/dialects. Run by ../capture.py --js (it serves the stand-in OpenAI API):
//   node capture.mjs BASE_URL OUT_FILE
// Same turn as the Python dialects: a get_weather tool call, its result, the answer; once with
// generateText, once with streamText (npm ci here first: package-lock.json pins every package). The official OTel JS JSON serializer writes the line.
import { writeFileSync } from "node:fs";
import { createOpenAI } from "@ai-sdk/openai";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const [baseURL, outFile] = process.argv.slice(2);
const SYSTEM = "You are a weather assistant. Use the get_weather tool, then answer in one sentence.";
const QUESTION = "What's the weather like in Paris today?";

// Ids from a generator seeded with a constant, so a regeneration changes them only when the spans
// change (as capture.py does for the Python dialects).
let seed = 0x5eed1234n;
function hex(bytes) {
  let out = "";
  for (let i = 0; i < bytes; i++) {
    seed = (seed * 6364136223846793005n + 1442695040888963407n) & 0xffffffffffffffffn;
    out += Number(seed >> 56n).toString(16).padStart(2, "0");
  }
  return out;
}
const idGenerator = { generateTraceId: () => hex(16), generateSpanId: () => hex(8) };

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({
  idGenerator,
  resource: resourceFromAttributes({
    "service.name": "weather-agent",
    "lumos.fixture.dialect": "vercel-ai-sdk",
  }),
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
// Registered globally, as an app's OTel setup does; the SDK then traces with its own tracer "ai".
trace.setGlobalTracerProvider(provider);

const openai = createOpenAI({ baseURL, apiKey: "sk-stand-in" });
const settings = {
  model: openai.chat("gpt-4o-mini"), // chat completions, which the stand-in speaks
  system: SYSTEM,
  prompt: QUESTION,
  temperature: 0.2,
  tools: {
    get_weather: tool({
      description: "Current weather for a city.",
      inputSchema: z.object({ city: z.string().describe("City name") }),
      execute: async ({ city }) => ({ city, temperature_c: 18, conditions: "partly cloudy" }),
    }),
  },
  stopWhen: stepCountIs(3),
  experimental_telemetry: { isEnabled: true, functionId: "weather-agent" },
};

await generateText(settings);
const streamed = streamText(settings);
await streamed.consumeStream();
await streamed.text;
await provider.forceFlush();

const spans = exporter.getFinishedSpans();
const line = new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
writeFileSync(outFile, JSON.stringify(JSON.parse(line)) + "\n");
console.log(`  wrote ${outFile} (${spans.length} spans, 0 log records)`);
