-- wrk script: POST /api/public/ingestion batches of BATCH events (env), shaped like the
-- langfuse 2.60.10 capture (trace-create, agent span, generation create+update, tool span
-- create+update, event, agent span update, trace update), with fresh ids on every request so
-- nothing is deduplicated away. A session gets about 20 turns (200 ids) before the next one starts.
local batch = tonumber(os.getenv("BATCH") or "100")
local auth = os.getenv("AUTH") or "cGstbGYtYmVuY2g6c2stbGYtYmVuY2g="
local counter = 0
local thread_tag = tostring(math.random(1, 1e9))

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. auth

local function id(kind, n) return string.format("%s-%s-%08d", kind, thread_tag, n) end

local templates = {
  function(t, e) return '{"id":"' .. e .. '","type":"trace-create","timestamp":"2026-11-24T21:58:28.426856Z","body":{"id":"' .. t .. '","timestamp":"2026-11-24T21:58:28.426712Z","name":"chat-turn","userId":"bench-user","input":{"role":"user","content":"What is the weather in Paris today?"},"sessionId":"bench-session-' .. thread_tag .. '-' .. math.floor(counter / 200) .. '","release":"1.0.0","version":"1.0.0","metadata":{"conversation_id":"conv-1","turn_number":1,"channel":"web"},"tags":["bench","chat"],"environment":"production"}}' end,
  function(t, e, a) return '{"id":"' .. e .. '","type":"span-create","timestamp":"2026-11-24T21:58:28.427000Z","body":{"traceId":"' .. t .. '","name":"agent-run","startTime":"2026-11-24T21:58:28.427001Z","metadata":{"agent":"planner"},"input":{"goal":"answer"},"environment":"production","id":"' .. a .. '"}}' end,
  function(t, e, a, g) return '{"id":"' .. e .. '","type":"generation-create","timestamp":"2026-11-24T21:58:28.427792Z","body":{"traceId":"' .. t .. '","name":"llm-call","startTime":"2026-11-24T21:58:28.427363Z","metadata":{"provider":"openai"},"input":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the weather in Paris today?"}],"parentObservationId":"' .. a .. '","environment":"production","id":"' .. g .. '","model":"gpt-4o-mini","modelParameters":{"temperature":"0.2","max_tokens":256}}}' end,
  function(t, e, a, g) return '{"id":"' .. e .. '","type":"generation-update","timestamp":"2026-11-24T21:58:28.452180Z","body":{"traceId":"' .. t .. '","output":{"role":"assistant","content":"It is sunny in Paris, 21 degrees."},"id":"' .. g .. '","endTime":"2026-11-24T21:58:28.451491Z","usageDetails":{"input":200,"output":40,"total":240},"costDetails":{"input":3e-05,"output":2.4e-05,"total":5.4e-05}}}' end,
  function(t, e, a, g, s) return '{"id":"' .. e .. '","type":"span-create","timestamp":"2026-11-24T21:58:28.453000Z","body":{"traceId":"' .. t .. '","name":"tool:get_weather","startTime":"2026-11-24T21:58:28.453001Z","input":{"city":"Paris"},"parentObservationId":"' .. a .. '","environment":"production","id":"' .. s .. '"}}' end,
  function(t, e, a, g, s) return '{"id":"' .. e .. '","type":"span-update","timestamp":"2026-11-24T21:58:28.460000Z","body":{"traceId":"' .. t .. '","output":{"temp_c":21,"sky":"sunny"},"id":"' .. s .. '","endTime":"2026-11-24T21:58:28.459000Z"}}' end,
  function(t, e, a, g, s, v) return '{"id":"' .. e .. '","type":"event-create","timestamp":"2026-11-24T21:58:28.461000Z","body":{"traceId":"' .. t .. '","name":"guardrail-check","startTime":"2026-11-24T21:58:28.461001Z","metadata":{"policy":"pii"},"input":{"text":"It is sunny"},"output":{"passed":true},"parentObservationId":"' .. a .. '","environment":"production","id":"' .. v .. '"}}' end,
  function(t, e, a) return '{"id":"' .. e .. '","type":"span-update","timestamp":"2026-11-24T21:58:28.470000Z","body":{"traceId":"' .. t .. '","output":{"answer":"It is sunny in Paris."},"id":"' .. a .. '","endTime":"2026-11-24T21:58:28.469000Z"}}' end,
  function(t, e) return '{"id":"' .. e .. '","type":"trace-create","timestamp":"2026-11-24T21:58:28.471000Z","body":{"id":"' .. t .. '","output":{"role":"assistant","content":"It is sunny in Paris, 21 degrees."},"metadata":{"turn_latency_ms":43}}}' end,
}

request = function()
  local parts = {}
  local turn
  for i = 1, batch do
    local k = (i - 1) % #templates + 1
    if k == 1 or turn == nil then
      counter = counter + 1
      turn = counter
    end
    local t, a, g, s, v = id("t", turn), id("a", turn), id("g", turn), id("s", turn), id("v", turn)
    counter = counter + 1
    parts[#parts + 1] = templates[k](t, id("e", counter), a, g, s, v)
  end
  return wrk.format(nil, "/api/public/ingestion", nil, '{"batch":[' .. table.concat(parts, ",") .. '],"metadata":{"sdk_name":"bench"}}')
end

-- EXPECT=204 when the target is the nginx ceiling, which answers 204 with no body.
local expect = tonumber(os.getenv("EXPECT") or "207")
local errors = 0
response = function(status, headers, body)
  if status ~= expect or (expect == 207 and string.find(body, '"errors":%[%]') == nil) then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected answer " .. status .. ": " .. string.sub(body, 1, 300) .. "\n") end
  end
end
