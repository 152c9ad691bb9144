// Drives a running gateway with the official OpenAI and Anthropic npm SDKs
// and prints what they returned as one JSON object, for the Go test
// TestNodeSDKs (internal/app), which makes the assertions.
//
//   node check.mjs BASE_URL SCENARIO[,SCENARIO...]
//
// Each scenario's result is printed under its name; a scenario that throws
// is printed as {"thrown": {...}} so the Go side can tell an SDK error
// (wanted for the fault scenarios) from a result.
import OpenAI, { toFile } from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import net from 'node:net';

const [base, list] = process.argv.slice(2);
if (!base || !list) {
  console.error('usage: node check.mjs BASE_URL SCENARIO[,SCENARIO...]');
  process.exit(2);
}

const openai = new OpenAI({ baseURL: base + '/v1', apiKey: 'unused', maxRetries: 0, timeout: 20000 });
const anthropic = new Anthropic({ baseURL: base, apiKey: 'unused', maxRetries: 0, timeout: 20000 });

const weatherTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const anthropicWeatherTool = {
  name: 'get_weather',
  description: 'Get the weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

// Both routes: the same dialect as the provider, then translated.
const openaiModels = ['medium', 'claude'];
const anthropicModels = ['claude', 'medium'];

function headersOf(response) {
  return {
    route: response.headers.get('x-switchyard-route'),
    deployment: response.headers.get('x-switchyard-deployment'),
    requestId: response.headers.get('x-request-id'),
  };
}

function isJSON(s) {
  try {
    JSON.parse(s);
    return true;
  } catch {
    return false;
  }
}

const scenarios = {
  // Chat Completions, plain.
  async 'openai-chat'() {
    const out = {};
    for (const model of openaiModels) {
      const { data, response } = await openai.chat.completions
        .create({ model, messages: [{ role: 'user', content: 'Say hello' }], metadata_unknown_to_gateway: { kept: true } })
        .withResponse();
      out[model] = {
        ...headersOf(response),
        object: data.object,
        model: data.model,
        content: data.choices[0].message.content,
        finish: data.choices[0].finish_reason,
        promptTokens: data.usage.prompt_tokens,
        completionTokens: data.usage.completion_tokens,
      };
    }
    return out;
  },

  // Chat Completions streamed through the SDK's stream helper, which
  // assembles the chunks into a final completion.
  async 'openai-stream'() {
    const out = {};
    for (const model of openaiModels) {
      const stream = openai.chat.completions.stream({
        model,
        messages: [{ role: 'user', content: 'Tell me a story' }],
        stream_options: { include_usage: true },
      });
      let chunks = 0;
      let deltas = '';
      for await (const chunk of stream) {
        chunks++;
        deltas += chunk.choices[0]?.delta?.content ?? '';
      }
      const done = await stream.finalChatCompletion();
      out[model] = {
        chunks,
        content: done.choices[0].message.content,
        deltasMatch: deltas === done.choices[0].message.content,
        finish: done.choices[0].finish_reason,
        completionTokens: done.usage?.completion_tokens ?? 0,
      };
    }
    return out;
  },

  // A tool call, the tool's result sent back, and a streamed tool call.
  async 'openai-tools'() {
    const out = {};
    for (const model of openaiModels) {
      const messages = [{ role: 'user', content: 'What is the weather in Paris?' }];
      const first = await openai.chat.completions.create({ model, messages, tools: [weatherTool] });
      const msg = first.choices[0].message;
      const call = msg.tool_calls?.[0];
      const second = await openai.chat.completions.create({
        model,
        tools: [weatherTool],
        messages: [...messages, msg, { role: 'tool', tool_call_id: call?.id ?? '', content: '{"temp_c": 21}' }],
      });
      const stream = openai.chat.completions.stream({ model, messages, tools: [weatherTool] });
      const streamed = (await stream.finalChatCompletion()).choices[0];
      out[model] = {
        finish: first.choices[0].finish_reason,
        toolName: call?.function.name ?? '',
        argsJSON: isJSON(call?.function.arguments ?? ''),
        answerAfterTool: second.choices[0].message.content ?? '',
        streamedFinish: streamed.finish_reason,
        streamedToolName: streamed.message.tool_calls?.[0]?.function.name ?? '',
        streamedArgsJSON: isJSON(streamed.message.tool_calls?.[0]?.function.arguments ?? ''),
      };
    }
    return out;
  },

  // Vision input and JSON mode.
  async 'openai-vision-json'() {
    const png =
      'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const { data, response } = await openai.chat.completions
      .create({
        model: 'cheap',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'What is in this picture?' },
              { type: 'image_url', image_url: { url: png } },
            ],
          },
        ],
      })
      .withResponse();
    const json = await openai.chat.completions.create({
      model: 'cheap',
      messages: [{ role: 'user', content: 'List three colours as JSON' }],
      response_format: { type: 'json_object' },
    });
    return {
      deployment: response.headers.get('x-switchyard-deployment'),
      content: data.choices[0].message.content,
      jsonContentIsJSON: isJSON(json.choices[0].message.content),
    };
  },

  // Embeddings: the npm SDK asks for base64 unless told otherwise and
  // decodes it; the float form is checked too.
  async 'openai-embeddings'() {
    const b64 = await openai.embeddings.create({ model: 'embed', input: ['hello world', 'good morning'] });
    const floats = await openai.embeddings.create({ model: 'embed', input: 'hello world', encoding_format: 'float' });
    const a = Array.from(b64.data[0].embedding);
    const b = floats.data[0].embedding;
    return {
      vectors: b64.data.length,
      dims: a.length,
      allNumbers: a.every((x) => typeof x === 'number' && Number.isFinite(x)),
      sameAsFloat: a.length === b.length && a.every((x, i) => Math.abs(x - b[i]) < 1e-6),
      promptTokens: b64.usage.prompt_tokens,
    };
  },

  async 'openai-models'() {
    const ids = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    const one = await openai.models.retrieve('auto');
    let missing = null;
    try {
      await openai.models.retrieve('no-such-model');
    } catch (e) {
      missing = { status: e.status, code: e.code, name: e.constructor.name };
    }
    return { ids, retrieved: one.id, missing };
  },

  // Errors arrive as the SDK's typed errors with the API's fields.
  async 'openai-errors'() {
    const out = {};
    try {
      await openai.chat.completions.create({ model: 'no-such-route', messages: [{ role: 'user', content: 'hi' }] });
    } catch (e) {
      out.unknownModel = { status: e.status, code: e.code, type: e.type, name: e.constructor.name };
    }
    try {
      await openai.chat.completions.create({ model: 'auto', messages: [] });
    } catch (e) {
      out.noMessages = { status: e.status, param: e.param, type: e.type, name: e.constructor.name };
    }
    return out;
  },

  // The Responses API (relayed to OpenAI-kind deployments), plain and
  // streamed through the SDK's stream helper.
  async 'openai-responses'() {
    const plain = await openai.responses.create({ model: 'medium', input: 'Say hello' });
    const stream = openai.responses.stream({ model: 'medium', input: 'Tell me a story' });
    let deltas = '';
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') deltas += ev.delta;
    }
    const done = await stream.finalResponse();
    const follow = await openai.responses.create({ model: 'medium', input: 'And then?', previous_response_id: plain.id });
    return {
      status: plain.status,
      text: plain.output_text,
      streamedStatus: done.status,
      streamedText: done.output_text,
      deltasMatch: deltas === done.output_text,
      followStatus: follow.status,
      followPrevious: follow.previous_response_id,
    };
  },

  // The Responses API translated for an Anthropic deployment: plain, the
  // stream helper, and a function call round trip.
  async 'openai-responses-translated'() {
    const plain = await openai.responses.create({ model: 'claude', input: 'Say hello', instructions: 'Be brief.' });
    const stream = openai.responses.stream({ model: 'claude', input: 'Tell me a story' });
    let deltas = '';
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') deltas += ev.delta;
    }
    const done = await stream.finalResponse();
    const tools = [{ type: 'function', name: 'get_weather', parameters: weatherTool.function.parameters, strict: false }];
    const ask = { role: 'user', content: 'What is the weather in Paris?' };
    const first = await openai.responses.create({ model: 'claude', tools, input: [ask] });
    const call = first.output.find((i) => i.type === 'function_call');
    const second = await openai.responses.create({
      model: 'claude',
      tools,
      input: [ask, call, { type: 'function_call_output', call_id: call?.call_id ?? '', output: '{"temp_c": 21}' }],
    });
    // The gateway keeps a translated conversation for previous_response_id.
    const follow = await openai.responses.create({ model: 'claude', input: 'And then?', previous_response_id: plain.id });
    // ... and answers retrieval, the input items (the SDK's auto-pager) and deletion.
    const retrieved = await openai.responses.retrieve(follow.id);
    const items = [];
    for await (const item of openai.responses.inputItems.list(follow.id, { order: 'asc', limit: 1 })) items.push(item);
    await openai.responses.delete(plain.id);
    let deletedStatus = 0;
    try {
      await openai.responses.retrieve(plain.id);
    } catch (err) {
      deletedStatus = err.status ?? -1;
    }
    return {
      retrievedText: retrieved.output_text,
      itemRoles: items.map((i) => i.role).join(','),
      deletedStatus,
      status: plain.status,
      model: plain.model,
      text: plain.output_text,
      followStatus: follow.status,
      followText: follow.output_text,
      streamedStatus: done.status,
      streamedText: done.output_text,
      deltasMatch: deltas === done.output_text,
      callName: call?.name ?? '',
      callArgsJSON: isJSON(call?.arguments ?? ''),
      afterCallStatus: second.status,
      afterCallText: second.output_text,
    };
  },

  // Messages, plain and through the SDK's MessageStream helper.
  async 'anthropic-messages'() {
    const out = {};
    for (const model of anthropicModels) {
      const { data, response } = await anthropic.messages
        .create({ model, max_tokens: 128, messages: [{ role: 'user', content: 'Say hello' }] })
        .withResponse();
      const stream = anthropic.messages.stream({
        model,
        max_tokens: 128,
        messages: [{ role: 'user', content: 'Tell me a story' }],
      });
      let deltas = '';
      stream.on('text', (t) => {
        deltas += t;
      });
      const final = await stream.finalMessage();
      out[model] = {
        ...headersOf(response),
        type: data.type,
        role: data.role,
        text: data.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
        stop: data.stop_reason,
        inputTokens: data.usage.input_tokens,
        outputTokens: data.usage.output_tokens,
        streamedText: final.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
        deltasMatch: deltas === final.content.filter((b) => b.type === 'text').map((b) => b.text).join(''),
        streamedStop: final.stop_reason,
        streamedOutputTokens: final.usage.output_tokens,
      };
    }
    return out;
  },

  async 'anthropic-tools'() {
    const out = {};
    for (const model of anthropicModels) {
      const messages = [{ role: 'user', content: 'Weather in Paris?' }];
      const first = await anthropic.messages.create({ model, max_tokens: 128, tools: [anthropicWeatherTool], messages });
      const use = first.content.find((b) => b.type === 'tool_use');
      const second = await anthropic.messages.create({
        model,
        max_tokens: 128,
        tools: [anthropicWeatherTool],
        messages: [
          ...messages,
          { role: 'assistant', content: first.content },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: use?.id ?? '', content: '{"temp_c":21}' }] },
        ],
      });
      const streamed = await anthropic.messages.stream({ model, max_tokens: 128, tools: [anthropicWeatherTool], messages }).finalMessage();
      const streamedUse = streamed.content.find((b) => b.type === 'tool_use');
      out[model] = {
        stop: first.stop_reason,
        toolName: use?.name ?? '',
        inputIsObject: typeof use?.input === 'object' && use?.input !== null,
        stopAfterTool: second.stop_reason,
        streamedStop: streamed.stop_reason,
        streamedToolName: streamedUse?.name ?? '',
        streamedInputIsObject: typeof streamedUse?.input === 'object' && streamedUse?.input !== null,
      };
    }
    return out;
  },

  async 'anthropic-count-models-errors'() {
    const count = await anthropic.messages.countTokens({ model: 'auto', messages: [{ role: 'user', content: 'Count these tokens please' }] });
    const ids = [];
    for await (const m of anthropic.models.list()) ids.push(m.id);
    const out = { inputTokens: count.input_tokens, ids };
    try {
      await anthropic.messages.create({ model: 'no-such-route', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
    } catch (e) {
      out.unknownModel = { status: e.status, type: e.error?.error?.type, name: e.constructor.name };
    }
    try {
      await anthropic.messages.create({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] });
    } catch (e) {
      out.noMaxTokens = { status: e.status, type: e.error?.error?.type, name: e.constructor.name };
    }
    return out;
  },

  // Against a provider that cuts its streams: the SDKs must raise, never
  // hand back a shortened answer as if it were whole.
  async 'openai-stream-cut'() {
    const stream = openai.chat.completions.stream({ model: 'medium', messages: [{ role: 'user', content: 'Tell me a story' }] });
    const final = await stream.finalChatCompletion();
    return { finish: final.choices[0].finish_reason, content: final.choices[0].message.content };
  },

  async 'anthropic-stream-cut'() {
    const final = await anthropic.messages
      .stream({ model: 'medium', max_tokens: 128, messages: [{ role: 'user', content: 'Tell me a story' }] })
      .finalMessage();
    return { stop: final.stop_reason, text: final.content.map((b) => b.text ?? '').join('') };
  },

  // The media endpoints (moderations, images, speech, transcriptions),
  // each with the npm SDK's own encoding: the transcription's multipart
  // form is built by the SDK from toFile.
  async 'openai-media'() {
    const said = 'The night train to the north leaves at ten.';
    const mod = await openai.moderations.create({ input: ['a kind word', 'something forbidden'] });
    const img = await openai.images.generate({ model: 'image', prompt: 'a red train', n: 2 });
    const speech = await openai.audio.speech.create({ model: 'tts', input: said, voice: 'alloy', response_format: 'wav' });
    const wav = Buffer.from(await speech.arrayBuffer());
    const tr = await openai.audio.transcriptions.create({ model: 'whisper', file: await toFile(wav, 'speech.wav', { type: 'audio/wav' }) });
    const text = await openai.audio.transcriptions.create({ file: await toFile(wav, 'speech.wav'), response_format: 'text' });
    // A streamed image generation: partial images, then the completed one.
    const imgStream = await openai.images.generate({ model: 'image', prompt: 'a red train', stream: true, partial_images: 1 });
    const imageEvents = [];
    for await (const ev of imgStream) imageEvents.push(ev.type);
    // A streamed transcription: deltas, then done with the text and usage.
    const stream = await openai.audio.transcriptions.create({ model: 'transcribe', file: await toFile(wav, 'speech.wav', { type: 'audio/wav' }), stream: true });
    let streamDeltas = 0, streamText = '', streamDone = '', streamTokens = 0;
    for await (const ev of stream) {
      if (ev.type === 'transcript.text.delta') {
        streamDeltas++;
        streamText += ev.delta;
      } else if (ev.type === 'transcript.text.done') {
        streamDone = ev.text;
        streamTokens = ev.usage?.total_tokens ?? 0;
      }
    }
    // Bedrock's Titan through the gateway: the SDK asks for base64 and
    // decodes it; the same vectors as floats.
    const b64 = await openai.embeddings.create({ model: 'titan', input: ['first text', 'second text'], dimensions: 256 });
    const floats = await openai.embeddings.create({ model: 'titan', input: ['first text', 'second text'], dimensions: 256, encoding_format: 'float' });
    return {
      titanVectors: b64.data.length,
      titanDims: b64.data[0].embedding.length,
      titanSameAsFloat: b64.data.every((d, i) => Array.from(d.embedding).every((x, j) => Math.abs(x - floats.data[i].embedding[j]) < 1e-6)),
      flagged: mod.results.map((r) => r.flagged),
      images: img.data.length,
      pngs: img.data.every((d) => Buffer.from(d.b64_json, 'base64').subarray(1, 4).toString() === 'PNG'),
      imageTokens: img.usage?.output_tokens ?? 0,
      speechType: speech.headers.get('content-type'),
      riff: wav.subarray(0, 4).toString(),
      transcript: tr.text,
      said,
      textTranscript: typeof text === 'string' ? text.trim() : JSON.stringify(text),
      streamDeltas,
      streamText,
      streamDone,
      streamTokens,
      imageEvents,
    };
  },

  // The Realtime API over a WebSocket (the SDK's ws client, which sends
  // the key as a header): a text turn, its deltas and its usage. The SDK
  // always dials wss://; the test gateway speaks plain HTTP on loopback (in
  // production TLS ends in front of it), so the socket under the TLS-less
  // wss URL is plain TCP.
  async 'openai-realtime'() {
    const { OpenAIRealtimeWS } = await import('openai/realtime/ws');
    const rt = await OpenAIRealtimeWS.create(openai, { model: 'voice', options: { createConnection: (o) => net.connect(o) } });
    const types = [];
    let text = '';
    const done = new Promise((resolve, reject) => {
      rt.on('error', (err) => reject(err));
      rt.on('event', (ev) => types.push(ev.type));
      rt.on('response.output_text.delta', (ev) => { text += ev.delta; });
      rt.on('response.done', (ev) => resolve(ev));
    });
    await new Promise((resolve, reject) => {
      rt.socket.once('open', resolve);
      rt.socket.once('error', reject);
    });
    rt.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['text'] } });
    rt.send({ type: 'conversation.item.create', item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say hello' }] } });
    rt.send({ type: 'response.create' });
    const last = await done;
    const closed = new Promise((resolve) => rt.socket.once('close', (code) => resolve(code)));
    rt.close({ code: 1000, reason: 'done' });
    return {
      first: types[0],
      text,
      doneText: last.response.output?.[0]?.content?.[0]?.text ?? null,
      status: last.response.status,
      outputTokens: last.response.usage?.output_tokens ?? 0,
      closeCode: await closed,
    };
  },

  // The Responses API's WebSocket mode (the SDK's ResponsesWS, over ws://
  // for an http base URL): two turns, the second continuing the first,
  // then one translated for Anthropic; each is read to response.completed.
  async 'openai-responses-ws'() {
    const { ResponsesWS } = await import('openai/resources/responses/ws');
    const ws = new ResponsesWS(openai);
    const pending = [];
    ws.on('error', (err) => pending.splice(0).forEach((p) => p.reject(err)));
    ws.on('event', (ev) => {
      if (ev.type === 'response.completed' || ev.type === 'error') pending.shift()?.resolve(ev);
    });
    // A turn that never completes fails the scenario instead of hanging.
    const turn = (body) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no response.completed for ${body.model}`)), 15000);
        pending.push({ resolve: (ev) => (clearTimeout(timer), resolve(ev)), reject });
        ws.send({ type: 'response.create', ...body });
      });
    let first, second, third, refused;
    try {
      first = await turn({ model: 'medium', input: 'Which platform for the coast?' });
      second = await turn({ model: 'medium', input: 'And the return?', previous_response_id: first.response.id });
      third = await turn({ model: 'claude', input: 'Translated, on the same socket.' });
      refused = await turn({ model: 'no-such-model', input: 'hi' });
    } finally {
      ws.close(); // else the open socket keeps the script from exiting
    }
    return {
      types: [first.type, second.type, third.type, refused.type],
      texts: [first, second, third].map((ev) => ev.response.output?.[0]?.content?.[0]?.text ?? ''),
      continues: second.response.previous_response_id === first.response.id,
      refusedStatus: refused.status ?? null,
    };
  },

  // Stateful OpenAI objects through the gateway: a conversation used by a
  // response, a stored chat completion, a compaction and an input token
  // count.
  async 'openai-state'() {
    const conv = await openai.conversations.create({ metadata: { topic: 'trains' } });
    const resp = await openai.responses.create({ model: 'medium', input: 'Which platform?', conversation: conv.id });
    const items = await openai.conversations.items.list(conv.id, { order: 'asc' });
    const stored = await openai.chat.completions.create({ model: 'medium', store: true, messages: [{ role: 'user', content: 'Keep this.' }] });
    const got = await openai.chat.completions.retrieve(stored.id);
    const messages = await openai.chat.completions.messages.list(stored.id);
    const count = await openai.responses.inputTokens.count({ model: 'medium', input: 'Count me.' });
    const compacted = await openai.responses.compact({ model: 'medium', input: [{ role: 'user', content: 'A long talk.' }] });
    await openai.conversations.delete(conv.id);
    return {
      conversation: conv.id.startsWith('conv_'),
      responseConversation: resp.conversation?.id === conv.id,
      itemRoles: items.data.map((it) => it.role),
      storedSame: got.id === stored.id && got.choices[0].message.content === stored.choices[0].message.content,
      messages: messages.data.map((m) => m.content),
      inputTokens: count.input_tokens,
      compactedLast: compacted.output[compacted.output.length - 1]?.type ?? null,
    };
  },

  async 'responses-stream-cut'() {
    const final = await openai.responses.stream({ model: 'medium', input: 'Tell me a story' }).finalResponse();
    return { status: final.status, text: final.output_text };
  },
};

const results = {};
for (const name of list.split(',')) {
  const run = scenarios[name];
  if (!run) {
    console.error(`unknown scenario ${name}`);
    process.exit(2);
  }
  try {
    results[name] = await run();
  } catch (e) {
    results[name] = { thrown: { name: e.constructor.name, status: e.status ?? null, message: String(e.message ?? e) } };
  }
}
process.stdout.write(JSON.stringify(results) + '\n');
