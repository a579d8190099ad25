-- wrk script: a dashboard-and-SDK mix on one server. Four of five requests are reads (session
-- list, 10- and 100-turn drill-downs, trace list), the fifth a 10-event ingestion batch from
-- ingest.lua (fresh ids). Needs the generated dataset (bench-drill-10/100 sessions).
dofile(os.getenv("INGEST_LUA") or "scripts/bench/ingest.lua")
local write_request = request
local reads = {
  "/api/public/sessions?limit=50",
  "/api/public/sessions/bench-drill-10",
  "/api/public/sessions/bench-drill-100",
  "/api/public/traces?limit=50",
}
local n = 0
request = function()
  n = n + 1
  if n % 5 == 0 then return write_request() end
  return wrk.format("GET", reads[n % #reads + 1])
end

local errors = 0
response = function(status, headers, body)
  if status ~= 200 and status ~= 207 then
    errors = errors + 1
    if errors <= 3 then io.stderr:write("unexpected answer " .. status .. ": " .. string.sub(body, 1, 200) .. "\n") end
  end
end
