-- wrk script: POST /api/public/otel/v1/traces with the protobuf body that
-- scripts/bench/otlp_template.py wrote to TEMPLATE (env), fresh ids on every request: the
-- 4-byte id MARKER and the 12-byte SESSION placeholder are replaced, lengths unchanged.
-- Two requests share a session (10 traces each, so 20 turns per session).
local template_path = os.getenv("TEMPLATE")
local auth = os.getenv("AUTH") or "cGstbGYtYmVuY2g6c2stbGYtYmVuY2g="
-- /v1/traces for servers that only serve the OTLP default path (the Phoenix peer)
local path = os.getenv("OTLP_PATH") or "/api/public/otel/v1/traces"
local file = assert(io.open(template_path, "rb"))
local template = file:read("*a")
file:close()

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-protobuf"
wrk.headers["Authorization"] = "Basic " .. auth

local marker = "\127\62\90\145"
local counter = 0
local thread_byte

setup = function(thread)
  thread:set("seed", math.random(48, 247))
end

init = function()
  -- wrk gives each thread its own Lua state; `seed` differs per thread.
  thread_byte = string.char(seed or math.random(48, 247))
end

local function base200(n, digits)
  local out = {}
  for i = 1, digits do
    out[i] = string.char(48 + n % 200)
    n = math.floor(n / 200)
  end
  return table.concat(out)
end

request = function()
  counter = counter + 1
  -- bytes 48..247: never '%' (37), so the replacement is literal
  local id = thread_byte .. base200(counter, 3)
  local session = string.format("%02x%010d", string.byte(thread_byte), math.floor(counter / 2))
  local body = template:gsub(marker, id):gsub("SESSXXXXXXXX", session)
  return wrk.format(nil, path, nil, body)
end

local errors = 0
response = function(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected answer " .. status .. ": " .. string.sub(body, 1, 200) .. "\n") end
  end
end
