// Real-client check: @ag-ui/client's HttpAgent against dockerhub-agent.
// Usage: node agui_client.cjs NO_LLM_URL LLM_URL   (NODE_PATH points at node_modules)
"use strict";
const assert = require("node:assert/strict");
const { HttpAgent } = require("@ag-ui/client");

let passed = 0;
async function check(name, fn) {
  await fn();
  passed += 1;
  console.log(`ok - ${name}`);
}

function recorder() {
  const types = [];
  let finished = null;
  return {
    types,
    get finished() { return finished; },
    subscriber: {
      onEvent: ({ event }) => { types.push(event.type); },
      onRunFinishedEvent: (p) => { finished = p; },
    },
  };
}

async function main() {
  const [noLlm, llm] = process.argv.slice(2);

  await check("no-LLM direct tool call", async () => {
    const agent = new HttpAgent({ url: `${noLlm}/ag-ui` });
    agent.addMessage({ id: "u1", role: "user", content: 'hub_repos list {"namespace":"acme","page_size":2}' });
    const rec = recorder();
    await agent.runAgent({}, rec.subscriber);
    assert.equal(rec.types[0], "RUN_STARTED");
    assert.equal(rec.types.at(-1), "RUN_FINISHED");
    for (const t of ["TOOL_CALL_START", "TOOL_CALL_ARGS", "TOOL_CALL_END", "TOOL_CALL_RESULT", "TEXT_MESSAGE_CONTENT"]) {
      assert.ok(rec.types.includes(t), `${t} in ${rec.types}`);
    }
    const call = agent.messages.find((m) => m.role === "assistant" && m.toolCalls && m.toolCalls.length);
    assert.equal(call.toolCalls[0].function.name, "hub_repos");
    const tool = agent.messages.find((m) => m.role === "tool");
    assert.equal(JSON.parse(tool.content).data.results.length, 2);
    assert.ok(agent.state.rateLimit && agent.state.rateLimit.limit > 0, JSON.stringify(agent.state));
  });

  await check("a tool error is RUN_ERROR", async () => {
    const agent = new HttpAgent({ url: `${noLlm}/ag-ui` });
    agent.addMessage({ id: "u1", role: "user", content: "hub_repos get namespace=acme repository=ghost" });
    let errorMessage = null;
    const rec = recorder();
    rec.subscriber.onRunErrorEvent = ({ event }) => { errorMessage = event.message; };
    const origError = console.error;
    console.error = () => {};
    try {
      await agent.runAgent({}, rec.subscriber);
    } catch (e) {
      errorMessage = errorMessage || String(e);
    } finally {
      console.error = origError;
    }
    assert.match(errorMessage, /not found/);
    assert.equal(rec.types.at(-1), "RUN_ERROR");
  });

  await check("destructive action: interrupt, then resume", async () => {
    const agent = new HttpAgent({ url: `${noLlm}/ag-ui` });
    agent.addMessage({ id: "u1", role: "user", content: "hub_teams delete org_name=acme group_name=developers" });
    const rec = recorder();
    await agent.runAgent({}, rec.subscriber);
    assert.equal(rec.finished.outcome, "interrupt", JSON.stringify(rec.finished.outcome));
    const interrupt = rec.finished.interrupts[0];
    assert.equal(interrupt.reason, "confirmation_required");
    assert.ok(!rec.types.includes("TOOL_CALL_START"));
    const rec2 = recorder();
    await agent.runAgent({ resume: [{ interruptId: interrupt.id, status: "resolved", payload: { approved: true } }] }, rec2.subscriber);
    assert.equal(rec2.finished.outcome, "success");
    assert.ok(rec2.types.includes("TOOL_CALL_RESULT"), rec2.types.join(","));
  });

  await check("LLM conversation over two runs", async () => {
    const agent = new HttpAgent({ url: `${llm}/ag-ui` });
    agent.addMessage({ id: "u1", role: "user", content: "who am I?" });
    const rec = recorder();
    await agent.runAgent({}, rec.subscriber);
    assert.equal(rec.types.at(-1), "RUN_FINISHED");
    const texts = agent.messages.filter((m) => m.role === "assistant" && typeof m.content === "string" && m.content);
    assert.equal(texts.at(-1).content, "You are demo.");
    agent.addMessage({ id: "u2", role: "user", content: "thanks" });
    const rec2 = recorder();
    await agent.runAgent({}, rec2.subscriber);
    const last = agent.messages.at(-1);
    assert.equal(last.role, "assistant");
    assert.equal(last.content, "You're welcome.");
  });

  console.log(`@ag-ui/client: ${passed} passed, 0 failed`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
